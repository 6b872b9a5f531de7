"""A broker outage only delays: rows appended while Kafka is down all arrive later, in key order.

Runs its own broker (scripts/kafka.sh on free ports, data in a temp dir) so that stopping it
does not disturb anyone else's tests on the shared broker.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from events_testkit import REPO, Databases, make_events
from prometheus_client import REGISTRY
from test_events_kafka import (
    assert_complete_in_key_order,
    producer,
    read_topic,
    relay_position,
    wait_for,
    write,
)

from learnproof_events.relay import Relay

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
KAFKA_SH = str(REPO / "scripts" / "kafka.sh")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """A second broker instance driven by the project's script with environment overrides."""

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
        proc = await asyncio.create_subprocess_exec(
            KAFKA_SH, action, env=self.env, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 180)
        assert proc.returncode == 0, f"kafka.sh {action} failed"
        return out.decode().strip()


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[PrivateBroker]:
    b = PrivateBroker(tmp_path / "kafka")
    assert await b.script("start") == b.bootstrap
    try:
        yield b
    finally:
        await b.script("stop")
        assert await b.script("status") == "down"


async def test_rows_appended_during_an_outage_arrive_after_it(
    pg_dbs: Databases, broker: PrivateBroker
) -> None:
    topic = "test.outage.v1"
    _, engine, outbox = await producer(pg_dbs)
    before = make_events(topic, 200, keys=13)
    during = make_events(topic, 400, keys=13, start=200)
    relay = Relay(
        engine, broker.bootstrap, outbox, batch_size=100, request_timeout=3, max_backoff=1
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:

        async def reached(events_so_far: int) -> bool:
            async with engine.connect() as conn:
                last = (await conn.execute(sa.select(sa.func.max(outbox.c.seq)))).scalar_one()
            return relay.published >= events_so_far and await relay_position(engine) == last

        await write(engine, outbox, before, per_tx=50)
        await wait_for(lambda: reached(200), 60, "the first rows to be published")

        await broker.script("stop")
        assert await broker.script("status") == "down"
        # The producer side keeps committing while the broker is away.
        await write(engine, outbox, during, per_tx=25)
        # The relay keeps failing and retrying, and its lag gauge shows the backlog.
        await wait_for(lambda: relay.lag == 400, 30, "the lag to show the backlog")
        gauge = REGISTRY.get_sample_value("learnproof_relay_lag_events", {"relay": relay.name})
        assert gauge == 400
        assert relay.published == 200

        await broker.script("start")
        await wait_for(lambda: reached(600), 120, "the backlog to be published")
    finally:
        stop.set()
        await task
    got = await read_topic(broker.bootstrap, topic)
    assert_complete_in_key_order(got, before + during)
