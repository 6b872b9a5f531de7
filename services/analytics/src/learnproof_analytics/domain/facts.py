"""Statement facts: the few fields of one stored statement that every figure is derived from."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from learnproof_analytics.domain import vocabulary as v
from learnproof_analytics.domain.errors import UnreadableStatement


@dataclass(frozen=True, slots=True)
class StatementFact:
    """One non-voided statement about an activity, reduced to what the figures need.

    Figures are computed from the set of facts, so voiding a statement is deleting its fact:
    no counter has to be "un-incremented" and the result is exact whatever the order.
    """

    statement_id: str
    store: str
    actor: str
    actor_name: str | None
    verb: str
    verb_kind: str
    activity_id: str
    activity_type: str | None
    registration: str | None
    session_id: str | None
    timestamp: datetime
    score_scaled: float | None
    success: bool | None
    completion: bool | None
    duration_s: float | None
    assessment_type: str | None
    video_progress: float | None
    context_activities: tuple[str, ...] = ()

    @property
    def session_key(self) -> str:
        """The session a statement belongs to: cmi5 session id, else registration, else itself."""
        if self.session_id is not None:
            return f"session:{self.session_id}"
        if self.registration is not None:
            return f"registration:{self.registration}"
        return f"statement:{self.statement_id}"

    @property
    def enrolment(self) -> tuple[str, str | None]:
        """An enrolment is a learner's registration (None when the statement has none)."""
        return (self.actor, self.registration)


_DURATION = re.compile(
    r"^P(?:(?P<y>\d+(?:[.,]\d+)?)Y)?(?:(?P<mo>\d+(?:[.,]\d+)?)M)?(?:(?P<w>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<d>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<mi>\d+(?:[.,]\d+)?)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)
# Calendar units have no fixed length; learning sessions never use them, so a plain convention.
_UNIT_SECONDS = {
    "y": 365 * 86400.0,
    "mo": 30 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "mi": 60.0,
    "s": 1.0,
}


def parse_duration(text: str) -> float | None:
    """Seconds in an ISO 8601 duration such as ``PT1H2M3.5S``; None when unreadable."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        return None
    total = 0.0
    for unit, seconds in _UNIT_SECONDS.items():
        part = match.group(unit)
        if part is not None:
            total += float(part.replace(",", ".")) * seconds
    return total


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(text: str) -> datetime:
    """A tz-aware UTC datetime from an xAPI timestamp (nanoseconds are truncated)."""
    cleaned = _FRACTION.sub(r"\1", text.strip().replace("z", "Z"))
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise UnreadableStatement(f"unreadable timestamp {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def actor_key(actor: Mapping[str, Any]) -> str | None:
    """The actor's identifier string in the shared event-key format, when it has an IFI."""
    if "mbox" in actor:
        return f"mbox:{actor['mbox']}"
    if "mbox_sha1sum" in actor:
        return f"mbox_sha1sum:{actor['mbox_sha1sum']}"
    if "openid" in actor:
        return f"openid:{actor['openid']}"
    account = actor.get("account")
    if isinstance(account, Mapping):
        return f"account:{account.get('homePage')}|{account.get('name')}"
    members = actor.get("member")
    if isinstance(members, list):
        keys = sorted(k for m in members if isinstance(m, Mapping) and (k := actor_key(m)))
        return "group:" + hashlib.sha1("\n".join(keys).encode()).hexdigest()
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _mapping(parent: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = parent.get(name)
    return value if isinstance(value, Mapping) else {}


def _context_activity_ids(context: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    activities = _mapping(context, "contextActivities")
    for relation in ("parent", "grouping"):
        value = activities.get(relation)
        items = value if isinstance(value, list) else [value] if isinstance(value, Mapping) else []
        for item in items:
            item_id = item.get("id") if isinstance(item, Mapping) else None
            if isinstance(item_id, str) and item_id not in found:
                found.append(item_id)
    return tuple(found)


def fact_from_statement(
    statement: Mapping[str, Any], store: str, fallback_actor: str | None = None
) -> StatementFact | None:
    """The fact of a stored statement; None for statements not about an activity (voiding ...).

    ``fallback_actor`` is the event key; it is preferred, because it is the producer's own
    spelling of the actor identifier that identity links refer to.
    """
    obj = _mapping(statement, "object")
    verb_iri = _mapping(statement, "verb").get("id")
    if not isinstance(verb_iri, str) or verb_iri == v.VOIDED_VERB:
        return None
    if obj.get("objectType", "Activity") != "Activity" or not isinstance(obj.get("id"), str):
        return None
    actor = _mapping(statement, "actor")
    key = fallback_actor or actor_key(actor)
    statement_id = statement.get("id")
    if key is None or not isinstance(statement_id, str):
        raise UnreadableStatement("statement without id or identifiable actor")
    when = statement.get("timestamp") or statement.get("stored")
    if not isinstance(when, str):
        raise UnreadableStatement(f"statement {statement_id} has no timestamp")
    result = _mapping(statement, "result")
    context = _mapping(statement, "context")
    context_ext = _mapping(context, "extensions")
    definition = _mapping(obj, "definition")
    duration = result.get("duration")
    session = context_ext.get(v.CMI5_SESSION_ID)
    assessment = context_ext.get(v.ASSESSMENT_TYPE_EXTENSION)
    registration = context.get("registration")
    activity_type = definition.get("type")
    name = actor.get("name")
    return StatementFact(
        statement_id=statement_id,
        store=store,
        actor=key,
        actor_name=name if isinstance(name, str) else None,
        verb=verb_iri,
        verb_kind=v.verb_kind(verb_iri),
        activity_id=obj["id"],
        activity_type=activity_type if isinstance(activity_type, str) else None,
        registration=registration.lower() if isinstance(registration, str) else None,
        session_id=str(session) if session is not None else None,
        timestamp=parse_timestamp(when),
        score_scaled=_number(_mapping(result, "score").get("scaled")),
        success=_flag(result.get("success")),
        completion=_flag(result.get("completion")),
        duration_s=parse_duration(duration) if isinstance(duration, str) else None,
        assessment_type=assessment.lower() if isinstance(assessment, str) else None,
        video_progress=_number(_mapping(result, "extensions").get(v.VIDEO_PROGRESS_EXTENSION)),
        context_activities=_context_activity_ids(context),
    )
