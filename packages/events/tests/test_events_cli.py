"""The command lines: learnproof-relay --once and learnproof-consumer-reset."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient
from events_testkit import make_events
from typer.testing import CliRunner

from learnproof_events.cli import relay_app, reset_app
from learnproof_events.consumer import ConsumerRunner, OutboxLogSource, define_tracking_table
from learnproof_events.db import make_engine
from learnproof_events.envelope import Event
from learnproof_events.outbox import append, define_outbox_table
from learnproof_events.topics import partitions_of

TOPIC = "test.cli.v1"


async def seed(url: str, events: list[Event]) -> None:
    engine = make_engine(url)
    md = sa.MetaData()
    outbox = define_outbox_table(md)
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
        await append(conn, outbox, events)
    await engine.dispose()


async def consume(producer: str, consumer: str) -> list[int]:
    engine = make_engine(consumer)
    md = sa.MetaData()
    tracking = define_tracking_table(md)
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    seen: list[int] = []

    async def record(_: object, batch: list[Event]) -> None:
        seen.extend(e.data["n"] for e in batch)

    runner = ConsumerRunner("cli", OutboxLogSource(producer, [TOPIC]), engine, tracking, record)
    await runner.run_until_idle()
    await runner.close()
    await engine.dispose()
    return seen


def test_consumer_reset_command_replays_from_start_and_from_a_time(tmp_path: Path) -> None:
    producer = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    consumer = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    asyncio.run(seed(producer, make_events(TOPIC, 10)))
    assert asyncio.run(consume(producer, consumer)) == list(range(10))
    assert asyncio.run(consume(producer, consumer)) == []

    args = ["--db", consumer, "--consumer", "cli", "--topic", TOPIC, "--outbox-url", producer]
    result = CliRunner().invoke(reset_app, args)
    assert result.exit_code == 0, result.output
    assert "to start" in result.output
    assert asyncio.run(consume(producer, consumer)) == list(range(10))

    result = CliRunner().invoke(reset_app, [*args, "--to", "2026-01-01T00:00:07"])
    assert result.exit_code == 0, result.output
    assert asyncio.run(consume(producer, consumer)) == [7, 8, 9]


def test_consumer_reset_command_needs_exactly_one_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        reset_app,
        ["--db", f"sqlite:///{tmp_path / 'c.sqlite3'}", "--consumer", "x", "--topic", "t"],
    )
    assert result.exit_code != 0


@pytest.mark.kafka
def test_relay_command_once_publishes_and_creates_topics(tmp_path: Path, kafka: str) -> None:
    topic = f"test.cli.{uuid.uuid4().hex[:8]}"
    producer = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    asyncio.run(seed(producer, make_events(topic, 25)))
    specs = f'{{"{topic}": {{"partitions": 2, "retention_ms": 3600000}}}}'
    args = ["--db", producer, "--kafka", kafka, "--topics", specs, "--once"]
    result = CliRunner().invoke(relay_app, args)
    assert result.exit_code == 0, result.output
    assert "published 25" in result.output
    assert asyncio.run(partitions_of(kafka, topic)) == [0, 1]
    again = CliRunner().invoke(relay_app, args)
    assert "published 0" in again.output  # the position is durable
    asyncio.run(delete_topic(kafka, topic))


async def delete_topic(kafka: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()
