"""Stream rows through learnproof_events: stored -> consumed latency, embedded (the outbox table
read directly) and through the relay and Kafka; replay rate."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from learnproof_bench.ingest import auth_headers
from learnproof_events.consumer import (
    ConsumerRunner,
    KafkaSource,
    OutboxLogSource,
    Source,
    define_tracking_table,
)
from learnproof_events.db import make_engine
from learnproof_events.envelope import Event
from learnproof_events.relay import Relay
from learnproof_lrs.adapters.db.tables import outbox as lrs_outbox

TOPIC = "xapi.statements.v1"


@dataclass
class StreamResult:
    events: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _runner(
    db_url: str,
    name: str,
    on_events: Callable[[Sequence[Event]], None],
    kafka: str | None = None,
) -> ConsumerRunner:
    metadata = sa.MetaData()
    tracking = define_tracking_table(metadata, "bench_tracking")
    engine = make_engine(db_url)

    async def handler(_conn: AsyncConnection, events: Sequence[Event]) -> None:
        on_events(events)

    source: Source = (
        OutboxLogSource(db_url, [TOPIC])
        if kafka is None
        # A new group each run: the topic also holds earlier runs' and tests' events.
        else KafkaSource(kafka, [TOPIC], group=f"{name}-{uuid.uuid4().hex[:8]}")
    )
    runner = ConsumerRunner(
        name,
        source,
        engine,
        tracking,
        handler,
        dedupe=False,
    )
    return runner


async def _create_tracking(db_url: str) -> None:
    metadata = sa.MetaData()
    define_tracking_table(metadata, "bench_tracking")
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


async def latency(
    db_url: str,
    base: str,
    next_raws: Callable[[int], list[dict[str, Any]]],
    *,
    requests: int,
    batch: int,
    interval: float,
    kafka: str | None = None,
) -> StreamResult:
    """POST `requests` batches paced `interval` s apart while a consumer follows the stream.

    Embedded (`kafka` None): the consumer reads the LRS's outbox table (OutboxLogSource).
    Kafka: a relay publishes the outbox to the broker at `kafka` and the consumer is a Kafka
    group member (KafkaSource) -- the production path.
    Latency = when the handler sees a `stored` event minus the event's time (the statement's
    `stored`, the database clock inside the writing transaction, before its INSERTs).
    """
    await _create_tracking(db_url)
    relay_task: asyncio.Task[None] | None = None
    relay_stop = asyncio.Event()
    relay_engine = make_engine(db_url)
    if kafka is not None:
        relay = Relay(relay_engine, kafka, lrs_outbox, name="bench-relay")
        await relay.run_until_idle()  # publish what is already there
        relay_task = asyncio.create_task(relay.run(relay_stop))
    result = StreamResult()
    expected = {"n": 0}
    seen_ids: set[str] = set()

    def on_events(events: Sequence[Event]) -> None:
        now = datetime.now(UTC)
        for e in events:
            if e.type == "xapi.statement.stored" and e.subject in seen_ids:
                result.latencies_ms.append((now - e.time).total_seconds() * 1000)
                result.events += 1

    runner = _runner(db_url, "bench-latency", on_events, kafka)
    await runner.run_until_idle()  # skip what is already there
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    bodies = [next_raws(batch) for _ in range(requests)]
    started = time.perf_counter()
    async with httpx.AsyncClient(headers=auth_headers(), timeout=30.0) as client:
        for body in bodies:
            response = await client.post(f"{base}/statements", content=orjson.dumps(body))
            response.raise_for_status()
            seen_ids.update(response.json())
            expected["n"] += len(body)
            await asyncio.sleep(interval)
    deadline = time.monotonic() + 30
    while result.events < expected["n"] and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    result.seconds = time.perf_counter() - started
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    relay_stop.set()
    if relay_task is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
    await relay_engine.dispose()
    await runner.engine.dispose()
    return result


async def replay(db_url: str, *, max_seconds: float) -> StreamResult:
    """Replay the whole outbox from the start into a no-op projection: events/s (rebuild rate)."""
    await _create_tracking(db_url)
    result = StreamResult()

    def on_events(events: Sequence[Event]) -> None:
        result.events += len(events)

    runner = _runner(db_url, "bench-replay", on_events)
    started = time.perf_counter()
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    deadline = time.monotonic() + max_seconds
    last, idle_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if result.events != last:
            last, idle_since = result.events, time.monotonic()
        elif time.monotonic() - idle_since > 1.0:
            break  # nothing new for a second: drained
    result.seconds = (idle_since if result.events else time.monotonic()) - started
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await runner.engine.dispose()
    return result
