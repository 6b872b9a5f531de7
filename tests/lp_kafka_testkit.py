"""Helpers for the cross-service Kafka tests: a private broker, own databases, topic reading.

packages/events/tests has the same private-broker approach, but its modules are not importable
from here (pytest puts only a test module's own folder on sys.path), hence this small module.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from learnproof_events.envelope import Event, from_kafka
from learnproof_events.topics import partitions_of

REPO = Path(__file__).resolve().parents[1]
KAFKA_SH = str(REPO / "scripts" / "kafka.sh")


def required_env(name: str) -> str:
    """An address the services script exports; missing means FAIL unless skipping is allowed."""
    value = os.environ.get(name)
    if not value:
        if os.environ.get("LEARNPROOF_ALLOW_SKIP") == "1":
            pytest.skip(f"{name} not set")
        pytest.fail(f"{name} is not set: run through scripts/with-services.sh")
    return value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """A broker of our own, driven by scripts/kafka.sh on free ports with its data in ``base``.

    Stopping it disturbs nobody else's tests (the shared broker stays up).
    """

    def __init__(self, base: Path) -> None:
        self.env = dict(
            os.environ,
            LEARNPROOF_KAFKA_PORT=str(free_port()),
            LEARNPROOF_KAFKA_CONTROLLER_PORT=str(free_port()),
            LEARNPROOF_KAFKA_DIR=str(base),
            # A throwaway broker: the C1 compiler alone starts it faster on a busy machine.
            LEARNPROOF_KAFKA_JAVA_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        )
        self.bootstrap = f"127.0.0.1:{self.env['LEARNPROOF_KAFKA_PORT']}"

    async def script(self, action: str) -> str:
        """Runs ``kafka.sh <action>`` for this broker and returns what it printed."""
        proc = await asyncio.create_subprocess_exec(
            KAFKA_SH, action, env=self.env, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 180)
        assert proc.returncode == 0, f"kafka.sh {action} failed"
        return out.decode().strip()


async def create_pg_database(prefix: str) -> str:
    """An empty database of our own on the shared cluster; returns its plain URL."""
    base = required_env("LEARNPROOF_TEST_PG_URL")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    conn = await asyncpg.connect(required_env("LEARNPROOF_TEST_PG_URL"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record, decoded, with where it sits."""

    partition: int
    offset: int
    event: Event


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Each partition's end offset now (empty when the topic does not exist yet)."""
    numbers = await partitions_of(bootstrap, topic)
    if not numbers:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in numbers])
    finally:
        await consumer.stop()
    return {tp.partition: int(offset) for tp, offset in ends.items()}


async def read_topic(
    bootstrap: str, topic: str, start: dict[int, int] | None = None
) -> list[Record]:
    """Every record of ``topic`` from ``start`` (default: the beginning) to its current end.

    No consumer group: a plain assignment, so nothing is committed anywhere. Records come in
    partition order within each partition.
    """
    start = start or {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    got: list[Record] = []
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        assert partitions, f"topic {topic} does not exist"
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start.get(tp.partition, 0))
        ends = await consumer.end_offsets(partitions)
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            batch = await consumer.getmany(timeout_ms=300)
            for tp, messages in batch.items():
                for m in messages:
                    if m.offset >= ends[tp]:
                        continue  # written after we looked at the end: not ours to judge
                    event = from_kafka(m.key, m.value, m.headers, tp.topic)
                    got.append(Record(tp.partition, m.offset, event))
    finally:
        await consumer.stop()
    return got
