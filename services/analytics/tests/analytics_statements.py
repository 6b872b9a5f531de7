"""Builders of xAPI statements and analytics events for the analytics tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ADL = "http://adlnet.gov/expapi/verbs/"
ADL_W3ID = "https://w3id.org/xapi/adl/verbs/"
VERBS = {
    "launched": ADL + "launched",
    "initialized": ADL + "initialized",
    "completed": ADL + "completed",
    "passed": ADL + "passed",
    "failed": ADL + "failed",
    "terminated": ADL + "terminated",
    "experienced": ADL + "experienced",
    "satisfied": ADL_W3ID + "satisfied",
    "waived": ADL_W3ID + "waived",
    "abandoned": ADL_W3ID + "abandoned",
    "played": "https://w3id.org/xapi/video/verbs/played",
    "voided": ADL + "voided",
}
SESSION_EXT = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
ASSESSMENT_TYPE = "http://adlnet.gov/expapi/activities/assessment"
ASSESSMENT_EXT = "http://id.tincanapi.com/extension/assessment-type"
VIDEO_PROGRESS = "https://w3id.org/xapi/video/extensions/progress"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class FakeEvent:
    """Satisfies the fold's EventLike protocol without the events package."""

    type: str
    key: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def seconds_to_duration(seconds: float) -> str:
    return f"PT{seconds:g}S"


def statement(
    email: str,
    verb: str,
    activity: str,
    at: datetime | timedelta = timedelta(0),
    *,
    statement_id: str | None = None,
    registration: str | None = None,
    session: str | None = None,
    score: float | None = None,
    success: bool | None = None,
    completion: bool | None = None,
    duration: float | None = None,
    activity_type: str | None = None,
    assessment: str | None = None,
    progress: float | None = None,
    parent: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """A stored statement as the LRS returns it."""
    moment = T0 + at if isinstance(at, timedelta) else at
    result: dict[str, Any] = {}
    if score is not None:
        result["score"] = {"scaled": score}
    if success is not None:
        result["success"] = success
    if completion is not None:
        result["completion"] = completion
    if duration is not None:
        result["duration"] = seconds_to_duration(duration)
    if progress is not None:
        result["extensions"] = {VIDEO_PROGRESS: progress}
    context: dict[str, Any] = {}
    if registration is not None:
        context["registration"] = registration
    extensions: dict[str, Any] = {}
    if session is not None:
        extensions[SESSION_EXT] = session
    if assessment is not None:
        extensions[ASSESSMENT_EXT] = assessment
    if extensions:
        context["extensions"] = extensions
    if parent is not None:
        context["contextActivities"] = {"parent": [{"id": parent}]}
    obj: dict[str, Any] = {"objectType": "Activity", "id": activity}
    if activity_type is not None:
        obj["definition"] = {"type": activity_type}
    actor: dict[str, Any] = {"objectType": "Agent", "mbox": f"mailto:{email}"}
    if name is not None:
        actor["name"] = name
    body: dict[str, Any] = {
        "id": statement_id or str(uuid.uuid4()),
        "actor": actor,
        "verb": {"id": VERBS.get(verb, verb)},
        "object": obj,
        "timestamp": iso(moment),
        "stored": iso(moment + timedelta(seconds=1)),
        "authority": {"mbox": "mailto:lrs@example.org"},
        "version": "1.0.3",
    }
    if result:
        body["result"] = result
    if context:
        body["context"] = context
    return body


def actor_key_of(body: dict[str, Any]) -> str:
    return f"mbox:{body['actor']['mbox']}"


def stored_event(body: dict[str, Any], store: str = "default") -> FakeEvent:
    return FakeEvent(
        "xapi.statement.stored",
        actor_key_of(body),
        {"store": store, "statement": body},
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{store}/{body['id']}/stored")),
    )


def voided_event(
    body: dict[str, Any], at: datetime | timedelta = timedelta(days=30), store: str = "default"
) -> FakeEvent:
    moment = T0 + at if isinstance(at, timedelta) else at
    return FakeEvent(
        "xapi.statement.voided",
        actor_key_of(body),
        {
            "store": store,
            "voided_statement_id": body["id"],
            "voiding_statement_id": str(uuid.uuid4()),
            "voided_at": iso(moment),
        },
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{store}/{body['id']}/voided")),
    )
