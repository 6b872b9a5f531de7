"""Per-learner progress: what each actor attempted, completed, passed, scored and spent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from learnproof_analytics.domain.facts import StatementFact
from learnproof_analytics.domain.sessions import group_sessions, time_spent


def is_completion(fact: StatementFact) -> bool:
    """``completed`` verb or ``result.completion`` true."""
    return fact.verb_kind == "completed" or fact.completion is True


def is_pass(fact: StatementFact) -> bool:
    """``passed`` verb or ``result.success`` true."""
    return fact.verb_kind == "passed" or fact.success is True


def is_fail(fact: StatementFact) -> bool:
    """``failed`` verb or ``result.success`` false."""
    return fact.verb_kind == "failed" or fact.success is False


def _latest_scored(facts: Iterable[StatementFact]) -> float | None:
    scored = [f for f in facts if f.score_scaled is not None]
    if not scored:
        return None
    return max(scored, key=lambda f: (f.timestamp, f.statement_id)).score_scaled


def _best(facts: Iterable[StatementFact]) -> float | None:
    scores = [f.score_scaled for f in facts if f.score_scaled is not None]
    return max(scores) if scores else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a set of facts (one learner and activity, or one enrolment) achieved."""

    completed: bool
    passed: bool
    failed: bool
    satisfied: bool
    waived: bool
    best_score: float | None
    last_score: float | None


def outcome(facts: Sequence[StatementFact]) -> Outcome:
    """Outcome of facts; ``failed`` means failed and never passed."""
    passed = any(is_pass(f) for f in facts)
    return Outcome(
        completed=any(is_completion(f) for f in facts),
        passed=passed,
        failed=not passed and any(is_fail(f) for f in facts),
        satisfied=any(f.verb_kind == "satisfied" for f in facts),
        waived=any(f.verb_kind == "waived" for f in facts),
        best_score=_best(facts),
        last_score=_latest_scored(facts),
    )


@dataclass(frozen=True, slots=True)
class LearnerActivity:
    """One learner's record on one activity."""

    activity_id: str
    outcome: Outcome
    time_spent_s: float
    statements: int
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class LearnerProgress:
    """One learner's totals across the activities in view."""

    actor: str
    name: str | None
    attempted: int
    completed: int
    passed: int
    failed: int
    satisfied: int
    waived: int
    best_score: float | None
    last_score: float | None
    time_spent_s: float
    sessions: int
    statements: int
    first_activity: datetime
    last_activity: datetime
    activities: tuple[LearnerActivity, ...]


def learner_activity(activity_id: str, facts: Sequence[StatementFact]) -> LearnerActivity:
    """A learner's record on one activity; time counts sessions restricted to that activity."""
    return LearnerActivity(
        activity_id=activity_id,
        outcome=outcome(facts),
        time_spent_s=time_spent(facts),
        statements=len(facts),
        first=min(f.timestamp for f in facts),
        last=max(f.timestamp for f in facts),
    )


def learner_progress(actor: str, facts: Sequence[StatementFact]) -> LearnerProgress:
    """Totals of one learner's facts (which must be non-empty and all that actor's)."""
    by_activity: dict[str, list[StatementFact]] = defaultdict(list)
    for fact in facts:
        by_activity[fact.activity_id].append(fact)
    activities = tuple(learner_activity(a, fs) for a, fs in sorted(by_activity.items()))
    outcomes = [a.outcome for a in activities]
    named = [f for f in facts if f.actor_name is not None]
    latest_named = max(named, key=lambda f: (f.timestamp, f.statement_id)) if named else None
    return LearnerProgress(
        actor=actor,
        name=latest_named.actor_name if latest_named is not None else None,
        attempted=len(activities),
        completed=sum(o.completed for o in outcomes),
        passed=sum(o.passed for o in outcomes),
        failed=sum(o.failed for o in outcomes),
        satisfied=sum(o.satisfied for o in outcomes),
        waived=sum(o.waived for o in outcomes),
        best_score=_best(facts),
        last_score=_latest_scored(facts),
        time_spent_s=time_spent(facts),
        sessions=len(group_sessions(facts)),
        statements=len(facts),
        first_activity=min(f.timestamp for f in facts),
        last_activity=max(f.timestamp for f in facts),
        activities=activities,
    )


def learners_progress(facts: Iterable[StatementFact]) -> list[LearnerProgress]:
    """Progress of every learner among the facts, ordered by actor key."""
    by_actor: dict[str, list[StatementFact]] = defaultdict(list)
    for fact in facts:
        by_actor[fact.actor].append(fact)
    return [learner_progress(actor, fs) for actor, fs in sorted(by_actor.items())]
