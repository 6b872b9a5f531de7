"""The CloudEvents envelope on Kafka and the event JSON Schemas in schemas/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from learnproof_events.envelope import Event, from_kafka, to_kafka, to_structured
from learnproof_events.schemas import schema_errors, validate_event

STORE = "store-1"
STATEMENT_ID = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"
VOIDING_ID = "f3bd8a8a-6c45-4f4b-9a2a-0c0c6f6c3a11"


def statement() -> dict[str, object]:
    return {
        "id": STATEMENT_ID,
        "actor": {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
        "object": {"id": "https://learnproof.dev/courses/ai-ethics", "objectType": "Activity"},
        "result": {"score": {"scaled": 0.9}, "success": True, "completion": True},
        "timestamp": "2026-01-01T10:00:00.000Z",
        "stored": "2026-01-01T10:00:01.000Z",
        "authority": {"objectType": "Agent", "account": {"homePage": "https://lp", "name": "k"}},
        "version": "1.0.3",
    }


def stored_event(**changes: object) -> Event:
    base = Event(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{STORE}/{STATEMENT_ID}/stored")),
        type="xapi.statement.stored",
        source="/learnproof/lrs",
        topic="xapi.statements.v1",
        key="mbox:mailto:ada@example.com",
        time=datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC),
        data={"store": STORE, "statement": statement()},
        subject=STATEMENT_ID,
    )
    return Event(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})  # type: ignore[arg-type]


def voided_event(**changes: object) -> Event:
    base = Event(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{STORE}/{STATEMENT_ID}/voided")),
        type="xapi.statement.voided",
        source="/learnproof/lrs",
        topic="xapi.statements.v1",
        key="mbox:mailto:ada@example.com",
        time=datetime(2026, 1, 2, tzinfo=UTC),
        data={
            "store": STORE,
            "voided_statement_id": STATEMENT_ID,
            "voiding_statement_id": VOIDING_ID,
            "voided_at": "2026-01-02T00:00:00Z",
        },
        subject=STATEMENT_ID,
    )
    return Event(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})  # type: ignore[arg-type]


def test_binary_mode_headers_key_and_value() -> None:
    event = stored_event()
    key, value, headers = to_kafka(event)
    h = dict(headers)
    assert key == b"mbox:mailto:ada@example.com"
    assert h["ce_specversion"] == b"1.0"
    assert h["ce_id"] == event.id.encode()
    assert h["ce_type"] == b"xapi.statement.stored"
    assert h["ce_source"] == b"/learnproof/lrs"
    assert h["ce_subject"] == STATEMENT_ID.encode()
    assert h["ce_time"] == b"2026-01-01T10:00:01Z"
    assert h["content-type"] == b"application/json"
    assert value.startswith(b'{"store":"store-1"')
    assert from_kafka(key, value, headers, "xapi.statements.v1") == event


def test_round_trip_keeps_unicode_and_normalises_time_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    event = stored_event(time=datetime(2026, 1, 1, 11, 0, 1, tzinfo=cet), key="account:ü|ä")
    back = from_kafka(*to_kafka(event), "xapi.statements.v1")
    assert back.time == datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC)
    assert back.time.tzinfo == UTC
    assert back.key == "account:ü|ä"


def test_records_that_are_not_cloudevents_are_rejected() -> None:
    with pytest.raises(ValueError):
        from_kafka(b"k", b"[1, 2]", [("ce_specversion", b"1.0"), ("ce_id", b"1")], "t")


def test_structured_form_is_what_the_schemas_see() -> None:
    doc = to_structured(stored_event())
    assert doc["partitionkey"] == "mbox:mailto:ada@example.com"
    assert doc["time"] == "2026-01-01T10:00:01Z"
    assert doc["data"]["statement"]["id"] == STATEMENT_ID


def test_valid_events_match_their_schemas() -> None:
    validate_event(stored_event())
    validate_event(voided_event())
    group = {"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}
    validate_event(
        stored_event(
            key="group:" + "a" * 40,
            data={"store": STORE, "statement": {**statement(), "actor": group}},
        )
    )


@pytest.mark.parametrize(
    ("event", "where"),
    [
        (stored_event(source="/somewhere/else"), "source"),
        (stored_event(key="alice"), "partitionkey"),
        (stored_event(subject=None), "subject"),
        (stored_event(data={"statement": statement()}), "store"),
        (stored_event(data={"store": STORE, "statement": {**statement(), "verb": {}}}), "verb"),
        (
            stored_event(
                data={"store": STORE, "statement": {**statement(), "actor": {"name": "x"}}}
            ),
            "actor",
        ),
        (stored_event(data={"store": STORE, "statement": {**statement(), "id": "x"}}), "id"),
        (voided_event(data={"store": STORE, "voided_statement_id": STATEMENT_ID}), "voiding"),
        (voided_event(id="not-a-uuid"), "id"),
    ],
)
def test_schema_violations_are_reported(event: Event, where: str) -> None:
    errors = schema_errors(event)
    assert errors, f"expected a violation about {where}"
    assert any(where in e for e in errors), errors
    with pytest.raises(ValueError):
        validate_event(event)
