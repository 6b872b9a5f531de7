"""Per-activity (course, AU, assessment) figures over enrolments = a learner's registration."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from learnproof_analytics.domain.facts import StatementFact
from learnproof_analytics.domain.learners import Outcome, is_completion, outcome
from learnproof_analytics.domain.sessions import reported_time_spent, sessions_of
from learnproof_analytics.domain.stats import (
    Distribution,
    distribution,
    median,
    rate,
    score_histogram,
)


@dataclass(frozen=True, slots=True)
class Funnel:
    """How far enrolments got; drop-off = enrolments with no completion, pass, satisfied, waiver."""

    enrolments: int
    launched: int
    initialized: int
    completed: int
    passed: int
    satisfied: int
    dropped: int
    drop_off_rate: float | None
    abandoned_sessions: int


@dataclass(frozen=True, slots=True)
class ActivitySummary:
    """Figures of one activity over the facts in view."""

    activity_id: str
    learners: int
    enrolments: int
    registrations: int
    completed: int
    completion_rate: float | None
    passed: int
    failed: int
    pass_rate: float | None
    satisfied: int
    waived: int
    scores: Distribution
    score_histogram: list[int]
    time_spent: Distribution
    median_time_to_complete_s: float | None
    funnel: Funnel


def _time_to_complete(facts: Sequence[StatementFact]) -> float | None:
    """Seconds from an enrolment's first statement to its first completion."""
    ordered = sorted(facts, key=lambda f: (f.timestamp, f.statement_id))
    first_completion = next((f for f in ordered if is_completion(f)), None)
    if first_completion is None:
        return None
    return (first_completion.timestamp - ordered[0].timestamp).total_seconds()


def _funnel(
    enrolments: dict[tuple[str, str | None], list[StatementFact]], outcomes: Sequence[Outcome]
) -> Funnel:

    def reached(kind: str) -> int:
        return sum(any(f.verb_kind == kind for f in fs) for fs in enrolments.values())

    dropped = sum(not (o.completed or o.passed or o.satisfied or o.waived) for o in outcomes)
    all_facts = [f for fs in enrolments.values() for f in fs]
    abandoned = sum(s.ended_by == "abandoned" for s in sessions_of(all_facts))
    return Funnel(
        enrolments=len(enrolments),
        launched=reached("launched"),
        initialized=reached("initialized"),
        completed=sum(o.completed for o in outcomes),
        passed=sum(o.passed for o in outcomes),
        satisfied=sum(o.satisfied for o in outcomes),
        dropped=dropped,
        drop_off_rate=rate(dropped, len(enrolments)),
        abandoned_sessions=abandoned,
    )


def activity_summary(activity_id: str, facts: Sequence[StatementFact]) -> ActivitySummary:
    """Figures of one activity from its facts (all with that object id)."""
    enrolments: dict[tuple[str, str | None], list[StatementFact]] = defaultdict(list)
    for fact in facts:
        enrolments[fact.enrolment].append(fact)
    outcomes: list[Outcome] = [outcome(fs) for fs in enrolments.values()]
    passed = sum(o.passed for o in outcomes)
    failed = sum(o.failed for o in outcomes)
    completed = sum(o.completed for o in outcomes)
    best_scores = [o.best_score for o in outcomes if o.best_score is not None]
    times = [t for fs in enrolments.values() if (t := reported_time_spent(fs)) is not None]
    to_complete = [t for fs in enrolments.values() if (t := _time_to_complete(fs)) is not None]
    return ActivitySummary(
        activity_id=activity_id,
        learners=len({f.actor for f in facts}),
        enrolments=len(enrolments),
        registrations=len({f.registration for f in facts if f.registration is not None}),
        completed=completed,
        completion_rate=rate(completed, len(enrolments)),
        passed=passed,
        failed=failed,
        pass_rate=rate(passed, passed + failed),
        satisfied=sum(o.satisfied for o in outcomes),
        waived=sum(o.waived for o in outcomes),
        scores=distribution(best_scores),
        score_histogram=score_histogram(best_scores),
        time_spent=distribution(times),
        median_time_to_complete_s=median(to_complete),
        funnel=_funnel(enrolments, outcomes),
    )


def activity_summaries(facts: Iterable[StatementFact]) -> list[ActivitySummary]:
    """Figures of every activity among the facts, ordered by activity id."""
    by_activity: dict[str, list[StatementFact]] = defaultdict(list)
    for fact in facts:
        by_activity[fact.activity_id].append(fact)
    return [activity_summary(a, fs) for a, fs in sorted(by_activity.items())]
