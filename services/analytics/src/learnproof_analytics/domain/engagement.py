"""Engagement: active learners per day or week, session outcomes, video progress."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from learnproof_analytics.domain.facts import StatementFact
from learnproof_analytics.domain.sessions import Session
from learnproof_analytics.domain.stats import Distribution, distribution, mean

VIDEO_MILESTONES = (0.25, 0.5, 0.75, 1.0)


def period_start(day: date, granularity: str) -> date:
    """The UTC day itself, or the Monday of its ISO week."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    return day


@dataclass(frozen=True, slots=True)
class ActivePeriod:
    """Distinct learners with at least one statement in a period."""

    period: date
    learners: int
    statements: int


def active_learners(facts: Iterable[StatementFact], granularity: str) -> list[ActivePeriod]:
    """Active learners per UTC day or ISO week (Monday start), in time order."""
    actors: dict[date, set[str]] = defaultdict(set)
    counts: dict[date, int] = defaultdict(int)
    for fact in facts:
        period = period_start(fact.timestamp.date(), granularity)
        actors[period].add(fact.actor)
        counts[period] += 1
    return [ActivePeriod(p, len(actors[p]), counts[p]) for p in sorted(actors)]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """How sessions went: initialized, ended by terminated or abandoned, or still open."""

    sessions: int
    initialized: int
    terminated: int
    abandoned: int
    open: int
    duration: Distribution


def session_summary(sessions: Sequence[Session]) -> SessionSummary:
    """Counts and the session-time distribution of sessions that reported a duration."""
    return SessionSummary(
        sessions=len(sessions),
        initialized=sum(s.initialized for s in sessions),
        terminated=sum(s.state == "terminated" for s in sessions),
        abandoned=sum(s.state == "abandoned" for s in sessions),
        open=sum(s.state == "open" for s in sessions),
        duration=distribution([s.duration_s for s in sessions if s.duration_s is not None]),
    )


def normalised_progress(value: float) -> float:
    """Video-profile progress as a 0..1 share (some players send a 0..100 percentage)."""
    share = value / 100 if value > 1 else value
    return min(max(share, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class VideoProgress:
    """How far learners got in one video: each learner's furthest progress."""

    activity_id: str
    learners: int
    mean_progress: float | None
    median_progress: float | None
    reached: dict[str, int]


def video_progress(facts: Iterable[StatementFact]) -> list[VideoProgress]:
    """Per video activity, from the furthest progress each learner reported."""
    furthest: dict[str, dict[str, float]] = defaultdict(dict)
    for fact in facts:
        if fact.video_progress is None:
            continue
        share = normalised_progress(fact.video_progress)
        seen = furthest[fact.activity_id]
        seen[fact.actor] = max(share, seen.get(fact.actor, 0.0))
    result = []
    for activity_id, per_learner in sorted(furthest.items()):
        values = list(per_learner.values())
        result.append(
            VideoProgress(
                activity_id=activity_id,
                learners=len(values),
                mean_progress=mean(values),
                median_progress=distribution(values).median,
                reached={f"{int(m * 100)}%": sum(x >= m for x in values) for m in VIDEO_MILESTONES},
            )
        )
    return result
