"""Query use cases: fetch the facts in view, then let the domain compute the figures."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from learnproof_analytics.domain.activities import ActivitySummary, Funnel, activity_summary
from learnproof_analytics.domain.assessments import (
    AssessmentConfig,
    AssessmentPair,
    DeltaSummary,
    assessment_pairs,
    delta_summary,
)
from learnproof_analytics.domain.directory import DirectoryGroup, LinkedUser
from learnproof_analytics.domain.engagement import (
    ActivePeriod,
    SessionSummary,
    VideoProgress,
    session_summary,
    video_progress,
)
from learnproof_analytics.domain.errors import InvalidQuery, NotFound
from learnproof_analytics.domain.filters import FactFilter, FactSubset
from learnproof_analytics.domain.learners import LearnerProgress, learner_progress
from learnproof_analytics.domain.sessions import Session, sessions_of
from learnproof_analytics.service_layer.ports import ReadModelPort

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(key: str) -> str:
    """An opaque cursor for the last key of a page."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key a cursor was made from; InvalidQuery when it was not made by us."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidQuery("malformed cursor") from exc


async def _page_keys(
    read_model: ReadModelPort, flt: FactFilter, by: str, cursor: str | None, limit: int
) -> tuple[list[str], str | None]:
    keys = await read_model.page_keys(flt, by, decode_cursor(cursor), limit + 1)
    more = len(keys) > limit
    keys = keys[:limit]
    return keys, encode_cursor(keys[-1]) if more else None


@dataclass(frozen=True, slots=True)
class LearnerView:
    """A learner's progress and the directory users the actor is linked to."""

    progress: LearnerProgress
    users: list[LinkedUser]


async def list_learners(
    read_model: ReadModelPort, flt: FactFilter, cursor: str | None, limit: int
) -> Page[LearnerView]:
    """Learners with statements in view, by actor key."""
    actors, next_cursor = await _page_keys(read_model, flt, "actor", cursor, limit)
    facts = await read_model.facts(flt, actors=actors)
    by_actor = defaultdict(list)
    for fact in facts:
        by_actor[fact.actor].append(fact)
    links = await read_model.linked_users(actors)
    items = [LearnerView(learner_progress(a, by_actor[a]), links.get(a, [])) for a in actors]
    return Page(items, next_cursor)


async def get_learner(read_model: ReadModelPort, actor: str, flt: FactFilter) -> LearnerView:
    """One learner's progress with per-activity detail."""
    facts = await read_model.facts(flt, actors=[actor])
    if not facts:
        raise NotFound(f"no statements for actor {actor!r} in view")
    links = await read_model.linked_users([actor])
    return LearnerView(learner_progress(actor, facts), links.get(actor, []))


async def list_activities(
    read_model: ReadModelPort, flt: FactFilter, cursor: str | None, limit: int
) -> Page[ActivitySummary]:
    """Activity (course, AU, assessment) figures, by activity id."""
    activities, next_cursor = await _page_keys(read_model, flt, "activity", cursor, limit)
    facts = await read_model.facts(flt, activities=activities)
    by_activity = defaultdict(list)
    for fact in facts:
        by_activity[fact.activity_id].append(fact)
    return Page([activity_summary(a, by_activity[a]) for a in activities], next_cursor)


async def get_activity(
    read_model: ReadModelPort, activity_id: str, flt: FactFilter
) -> ActivitySummary:
    """Figures of one activity."""
    facts = await read_model.facts(flt, activities=[activity_id])
    if not facts:
        raise NotFound(f"no statements about {activity_id!r} in view")
    return activity_summary(activity_id, facts)


async def breakdown(
    read_model: ReadModelPort, flt: FactFilter, by: str
) -> list[tuple[str, ActivitySummary]]:
    """The filter's activity's figures per directory group or manager (linked learners only)."""
    activity_id = flt.activity
    if activity_id is None:
        raise InvalidQuery("breakdown needs the activity filter")
    if by == "group":
        cuts = await read_model.actor_groups()
    elif by == "manager":
        cuts = await read_model.actor_managers()
    else:
        raise InvalidQuery("by must be group or manager")
    by_cut = defaultdict(list)
    for fact in await read_model.facts(flt, activities=[activity_id]):
        for cut in cuts.get(fact.actor, ()):
            by_cut[cut].append(fact)
    return [(cut, activity_summary(activity_id, fs)) for cut, fs in sorted(by_cut.items())]


@dataclass(frozen=True, slots=True)
class DeltaReport:
    """Assessment deltas overall, per course and per group, and the pairs themselves."""

    overall: DeltaSummary
    by_course: list[tuple[str | None, DeltaSummary]]
    by_group: list[tuple[str, DeltaSummary]]
    pairs: list[AssessmentPair]


async def assessment_deltas(
    read_model: ReadModelPort, flt: FactFilter, config: AssessmentConfig
) -> DeltaReport:
    """Pre/post pairs and their summaries; a learner in several groups counts in each."""
    facts = await read_model.facts(flt, subset=FactSubset(assessments=config))
    pairs = assessment_pairs(facts, config)
    by_course: dict[str | None, list[AssessmentPair]] = defaultdict(list)
    for pair in pairs:
        by_course[pair.course].append(pair)
    actor_groups = await read_model.actor_groups()
    by_group: dict[str, list[AssessmentPair]] = defaultdict(list)
    for pair in pairs:
        for group in actor_groups.get(pair.actor, ()):
            by_group[group].append(pair)
    return DeltaReport(
        overall=delta_summary(pairs),
        by_course=[
            (c, delta_summary(ps)) for c, ps in sorted(by_course.items(), key=lambda i: i[0] or "")
        ],
        by_group=[(g, delta_summary(ps)) for g, ps in sorted(by_group.items())],
        pairs=pairs,
    )


async def active(
    read_model: ReadModelPort, flt: FactFilter, granularity: str
) -> list[ActivePeriod]:
    """Active learners per day or week."""
    if granularity not in ("day", "week"):
        raise InvalidQuery("granularity must be day or week")
    return await read_model.active_periods(flt, granularity)


@dataclass(frozen=True, slots=True)
class SessionReport:
    """Session counts and one page of sessions (ordered by start)."""

    summary: SessionSummary
    sessions: list[Session]
    next_cursor: str | None


async def sessions(
    read_model: ReadModelPort, flt: FactFilter, cursor: str | None, limit: int
) -> SessionReport:
    """Sessions in view; the cursor is an offset into their start order."""
    all_sessions = sessions_of(await read_model.facts(flt))
    offset_text = decode_cursor(cursor)
    if offset_text is not None and not offset_text.isdigit():
        raise InvalidQuery("malformed cursor")
    offset = int(offset_text) if offset_text is not None else 0
    page = all_sessions[offset : offset + limit]
    more = offset + limit < len(all_sessions)
    return SessionReport(
        session_summary(all_sessions), page, encode_cursor(str(offset + limit)) if more else None
    )


async def videos(read_model: ReadModelPort, flt: FactFilter) -> list[VideoProgress]:
    """Video progress per video activity."""
    return video_progress(await read_model.facts(flt, subset=FactSubset(video_only=True)))


async def drop_off(read_model: ReadModelPort, flt: FactFilter) -> list[tuple[str, Funnel]]:
    """The enrolment funnel of every activity in view."""
    facts = await read_model.facts(flt)
    by_activity = defaultdict(list)
    for fact in facts:
        by_activity[fact.activity_id].append(fact)
    return [(a, activity_summary(a, fs).funnel) for a, fs in sorted(by_activity.items())]


async def groups(read_model: ReadModelPort) -> Sequence[DirectoryGroup]:
    """Directory groups known to analytics."""
    return await read_model.groups()
