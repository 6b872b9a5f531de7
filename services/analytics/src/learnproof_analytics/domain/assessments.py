"""Pre/post assessment deltas: raw change, Hake's normalised gain and the paired effect size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from learnproof_analytics.domain.facts import StatementFact
from learnproof_analytics.domain.stats import mean, sample_sd
from learnproof_analytics.domain.vocabulary import ASSESSMENT_ACTIVITY_TYPE

# Scores live in [-1, 1]; an SD below this is float noise of identical differences, not spread.
SD_EPSILON = 1e-9
PRE_MARKERS = frozenset({"pretest", "pre-test", "pre"})
POST_MARKERS = frozenset({"posttest", "post-test", "post"})


@dataclass(frozen=True, slots=True)
class AssessmentConfig:
    """How pre- and post-tests are recognised: configured IRIs, then the tincan convention."""

    pretest_activities: frozenset[str] = field(default_factory=frozenset)
    posttest_activities: frozenset[str] = field(default_factory=frozenset)
    use_convention: bool = True

    def role(self, fact: StatementFact) -> str | None:
        """``pre``, ``post`` or None for a fact."""
        if fact.activity_id in self.pretest_activities:
            return "pre"
        if fact.activity_id in self.posttest_activities:
            return "post"
        if self.use_convention and fact.activity_type == ASSESSMENT_ACTIVITY_TYPE:
            if fact.assessment_type in PRE_MARKERS:
                return "pre"
            if fact.assessment_type in POST_MARKERS:
                return "post"
        return None


@dataclass(frozen=True, slots=True)
class AssessmentPair:
    """One learner's pre and post score in one course cycle (registration); either may miss."""

    actor: str
    course: str | None
    registration: str | None
    pre: float | None
    post: float | None

    @property
    def delta(self) -> float | None:
        """post - pre, when both exist."""
        if self.pre is None or self.post is None:
            return None
        return self.post - self.pre

    @property
    def gain(self) -> float | None:
        """Hake's g = (post - pre) / (1 - pre); undefined (None) at pre = 1."""
        if self.pre is None or self.post is None or self.pre >= 1:
            return None
        return (self.post - self.pre) / (1 - self.pre)


def course_of(fact: StatementFact) -> str | None:
    """The course an assessment belongs to: first context parent, else first grouping."""
    return fact.context_activities[0] if fact.context_activities else None


def _cycle(fact: StatementFact) -> tuple[str, str]:
    # A registration is one enrolment in a course (cmi5: pre- and post-test AUs share it even
    # though their grouping differs); without one the course context stands in for it.
    if fact.registration is not None:
        return (fact.actor, "registration:" + fact.registration)
    return (fact.actor, "course:" + (course_of(fact) or ""))


def _order(fact: StatementFact) -> tuple[object, str]:
    return (fact.timestamp, fact.statement_id)


def assessment_pairs(
    facts: Iterable[StatementFact], config: AssessmentConfig
) -> list[AssessmentPair]:
    """Pair scored pre/post facts per learner and cycle (registration, else course).

    The earliest pre-test score and the latest post-test score of a cycle are used: the first
    attempt measures prior knowledge, the last one what the learner left with.
    """
    pres: dict[tuple[str, str], list[StatementFact]] = defaultdict(list)
    posts: dict[tuple[str, str], list[StatementFact]] = defaultdict(list)
    for fact in facts:
        if fact.score_scaled is None:
            continue
        role = config.role(fact)
        if role is not None:
            (pres if role == "pre" else posts)[_cycle(fact)].append(fact)
    pairs = []
    for key in sorted(set(pres) | set(posts)):
        first_pre = min(pres[key], key=_order) if key in pres else None
        last_post = max(posts[key], key=_order) if key in posts else None
        anchor = first_pre if first_pre is not None else last_post
        assert anchor is not None  # every key came from one of the two maps
        pairs.append(
            AssessmentPair(
                actor=key[0],
                course=course_of(anchor),
                registration=anchor.registration,
                pre=first_pre.score_scaled if first_pre is not None else None,
                post=last_post.score_scaled if last_post is not None else None,
            )
        )
    return pairs


@dataclass(frozen=True, slots=True)
class DeltaSummary:
    """Cohort figures over complete pairs; every undefined case is counted, never divided."""

    pairs: int
    missing_post: int
    missing_pre: int
    undefined_gain: int
    mean_pre: float | None
    mean_post: float | None
    mean_delta: float | None
    sd_delta: float | None
    mean_gain: float | None
    gain_n: int
    class_average_gain: float | None
    d_z: float | None


def delta_summary(pairs: Sequence[AssessmentPair]) -> DeltaSummary:
    """Summarise pairs: mean of per-learner g and the class-average g differ on purpose."""
    complete = [p for p in pairs if p.pre is not None and p.post is not None]
    pre = [p.pre for p in complete if p.pre is not None]
    post = [p.post for p in complete if p.post is not None]
    deltas = [d for p in complete if (d := p.delta) is not None]
    gains = [g for p in complete if (g := p.gain) is not None]
    mean_pre, mean_post, mean_delta = mean(pre), mean(post), mean(deltas)
    sd = sample_sd(deltas)
    class_gain = None
    if mean_pre is not None and mean_post is not None and mean_pre < 1:
        class_gain = (mean_post - mean_pre) / (1 - mean_pre)
    return DeltaSummary(
        pairs=len(complete),
        missing_post=sum(p.pre is not None and p.post is None for p in pairs),
        missing_pre=sum(p.pre is None and p.post is not None for p in pairs),
        undefined_gain=len(complete) - len(gains),
        mean_pre=mean_pre,
        mean_post=mean_post,
        mean_delta=mean_delta,
        sd_delta=sd,
        mean_gain=mean(gains),
        gain_n=len(gains),
        class_average_gain=class_gain,
        d_z=mean_delta / sd
        if mean_delta is not None and sd is not None and sd > SD_EPSILON
        else None,
    )
