"""Sessions and session time: the only honest way to add up cmi5 durations."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from learnproof_analytics.domain.facts import StatementFact
from learnproof_analytics.domain.vocabulary import SESSION_ENDING_KINDS


def session_time(facts: Iterable[StatementFact]) -> float | None:
    """Seconds of one session, or None when no statement of it carries a duration.

    cmi5 puts the whole session's duration on ``terminated`` (or the LMS's ``abandoned``) and
    the time-so-far on completed/passed/failed, so the ending statement wins; a session that
    never ended is credited with the largest duration it reported.
    """
    ending: list[float] = []
    others: list[float] = []
    for fact in facts:
        if fact.duration_s is None:
            continue
        (ending if fact.verb_kind in SESSION_ENDING_KINDS else others).append(fact.duration_s)
    if ending:
        return max(ending)
    return max(others) if others else None


@dataclass(frozen=True, slots=True)
class Session:
    """A learner's session: statements sharing a cmi5 session id (else registration)."""

    actor: str
    key: str
    activity_id: str
    registration: str | None
    started: datetime
    last_seen: datetime
    initialized: bool
    ended_by: str | None
    ended: datetime | None
    duration_s: float | None
    statements: int

    @property
    def state(self) -> str:
        """``terminated``, ``abandoned`` or ``open``."""
        return self.ended_by if self.ended_by is not None else "open"


def _ordered(facts: Iterable[StatementFact]) -> list[StatementFact]:
    return sorted(facts, key=lambda f: (f.timestamp, f.statement_id))


def group_sessions(facts: Iterable[StatementFact]) -> dict[tuple[str, str], list[StatementFact]]:
    """Facts by (actor, session key), each list in time order."""
    groups: dict[tuple[str, str], list[StatementFact]] = defaultdict(list)
    for fact in facts:
        groups[(fact.actor, fact.session_key)].append(fact)
    return {key: _ordered(group) for key, group in groups.items()}


def build_session(actor: str, key: str, facts: Sequence[StatementFact]) -> Session:
    """One session from its facts in time order."""
    endings = [f for f in facts if f.verb_kind in SESSION_ENDING_KINDS]
    last_end = endings[-1] if endings else None
    return Session(
        actor=actor,
        key=key,
        activity_id=facts[0].activity_id,
        registration=facts[0].registration,
        started=facts[0].timestamp,
        last_seen=facts[-1].timestamp,
        initialized=any(f.verb_kind == "initialized" for f in facts),
        ended_by=last_end.verb_kind if last_end is not None else None,
        ended=last_end.timestamp if last_end is not None else None,
        duration_s=session_time(facts),
        statements=len(facts),
    )


def sessions_of(facts: Iterable[StatementFact]) -> list[Session]:
    """Every session among the facts, ordered by start."""
    sessions = [build_session(a, k, fs) for (a, k), fs in group_sessions(facts).items()]
    return sorted(sessions, key=lambda s: (s.started, s.actor, s.key))


def reported_time_spent(facts: Iterable[StatementFact]) -> float | None:
    """Total session time of the facts; None when no session reported any duration."""
    times = [t for g in group_sessions(facts).values() if (t := session_time(g)) is not None]
    return math.fsum(times) if times else None


def time_spent(facts: Iterable[StatementFact]) -> float:
    """Total session time of the facts (sessions without any duration add nothing)."""
    seconds = reported_time_spent(facts)
    return seconds if seconds is not None else 0.0
