"""The one event envelope on every topic: CloudEvents 1.0, binary content mode on Kafka."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.v1.event import CloudEvent

SPECVERSION = "1.0"
DATACONTENTTYPE = "application/json"
# The CloudEvents Kafka binding carries the message key as the `partitionkey` extension.
PARTITIONKEY = "partitionkey"

KafkaHeaders = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Event:
    """One domain event as producers write it to their outbox and consumers receive it."""

    id: str  # stable id: consumers deduplicate on it
    type: str  # e.g. "xapi.statement.stored"
    source: str  # e.g. "/learnproof/lrs"
    topic: str  # e.g. "xapi.statements.v1"
    key: str  # partition key (actor / user id) -> per-key order
    time: datetime  # tz-aware UTC
    data: dict[str, Any]
    subject: str | None = None


def utc(value: datetime) -> datetime:
    """A tz-aware UTC datetime (naive values, as SQLite returns them, are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def encode_data(data: dict[str, Any]) -> bytes:
    """The event data as JSON bytes (orjson: the hot path of the outbox and the relay)."""
    return orjson.dumps(data)


def decode_data(raw: bytes | str) -> dict[str, Any]:
    """Parses JSON event data; the envelope only carries JSON objects."""
    value = orjson.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("event data must be a JSON object")
    return value


def ce_attributes(event: Event) -> dict[str, Any]:
    """The CloudEvents context attributes of an event (topic is a transport concern, not one)."""
    attrs: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": utc(event.time),
        "datacontenttype": DATACONTENTTYPE,
        PARTITIONKEY: event.key,
    }
    if event.subject is not None:
        attrs["subject"] = event.subject
    return attrs


def to_structured(event: Event) -> dict[str, Any]:
    """The CloudEvents JSON (structured mode) form; what the JSON Schemas in schemas/ describe."""
    attrs = ce_attributes(event)
    attrs["time"] = _iso(attrs["time"])
    attrs["data"] = event.data
    return attrs


def to_kafka(event: Event, data: bytes | None = None) -> tuple[bytes, bytes, KafkaHeaders]:
    """Key, value and `ce_*` headers of the Kafka record (CloudEvents Kafka binding, binary mode).

    ``data`` may carry the already-encoded JSON (the relay reads it from the outbox as bytes and
    must not pay for a parse and a re-encode).
    """
    payload = data if data is not None else encode_data(event.data)
    # bytes data passes through the binding's JSON format untouched.
    message = ce_kafka.to_binary_event(CloudEvent(ce_attributes(event), payload))
    key = message.key
    key_bytes = key.encode() if isinstance(key, str) else (key or b"")
    return key_bytes, message.value, list(message.headers.items())


def from_kafka(
    key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]], topic: str
) -> Event:
    """Parses a binary-mode CloudEvents Kafka record back into an Event."""
    message = ce_kafka.KafkaMessage(headers=dict(headers), key=key, value=b"")
    # The binding would parse the value with the stdlib json module; orjson does it here.
    try:
        ce = ce_kafka.from_binary_event(message)
    except BaseCloudEventException as exc:
        raise ValueError(f"not a CloudEvent: {exc}") from exc
    time = ce.get_time()
    if time is None:
        raise ValueError("CloudEvent without time")
    ext_key = ce.get_extension(PARTITIONKEY)
    return Event(
        id=ce.get_id(),
        type=ce.get_type(),
        source=ce.get_source(),
        topic=topic,
        key=str(ext_key) if ext_key is not None else "",
        time=utc(time),
        data=decode_data(value),
        subject=ce.get_subject(),
    )


def _iso(value: datetime) -> str:
    text = utc(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
