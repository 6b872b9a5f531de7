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
from learnproof_events.relay import Relay
from test_events_kafka import (
    assert_complete_in_key_order,
    producer,
    read_topic,
    relay_position,
    wait_for,
    write,
)

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
    before = make_events(topic, 300, keys=13)
    during = make_events(topic, 700, keys=13, start=300)
    relay = Relay(engine, broker.bootstrap, outbox, batch_size=100, request_timeout=3)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:

        async def reached(events_so_far: int) -> bool:
            async with engine.connect() as conn:
                last = (await conn.execute(sa.select(sa.func.max(outbox.c.seq)))).scalar_one()
            return relay.published >= events_so_far and await relay_position(engine) == last

        await write(engine, outbox, before, per_tx=50)
        await wait_for(lambda: reached(300), 60, "the first rows to be published")

        await broker.script("stop")
        assert await broker.script("status") == "down"
        # The producer side keeps committing while the broker is away.
        await write(engine, outbox, during, per_tx=25)
        await asyncio.sleep(2)
        assert relay.published == 300  # nothing could be published meanwhile
        assert relay.lag == 0 or relay.lag <= 700

        await broker.script("start")
        await wait_for(lambda: reached(1000), 90, "the backlog to be published")
    finally:
        stop.set()
        await task
    got = await read_topic(broker.bootstrap, topic)
    assert_complete_in_key_order(got, before + during)
