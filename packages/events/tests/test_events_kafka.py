"""Outbox -> relay -> a real Kafka broker -> KafkaSource consumer, including crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from events_testkit import (
    HERE,
    T0,
    Databases,
    chain_handler,
    expected_fold,
    fold_table,
    make_events,
    read_fold,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from learnproof_events.consumer import ConsumerRunner, KafkaSource, define_tracking_table
from learnproof_events.db import make_engine
from learnproof_events.envelope import Event, from_kafka
from learnproof_events.outbox import append, define_outbox_table
from learnproof_events.relay import Relay, define_relay_table
from learnproof_events.topics import partitions_of

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
PROC = str(HERE / "events_proc.py")


async def producer(pg_dbs: Databases) -> tuple[str, AsyncEngine, sa.Table]:
    url, engine = await pg_dbs.engine("producer")
    md = sa.MetaData()
    outbox = define_outbox_table(md)
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    return url, engine, outbox


async def write(engine: AsyncEngine, outbox: sa.Table, events: list[Event], per_tx: int) -> None:
    for start in range(0, len(events), per_tx):
        async with engine.begin() as conn:
            await append(conn, outbox, events[start : start + per_tx])


async def read_topic(kafka: str, topic: str) -> list[Event]:
    """Every record of a topic up to its current end (no group), in partition order, decoded."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    got: list[Event] = []
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(kafka, topic)]
        assert partitions
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            batch = await consumer.getmany(timeout_ms=300)
            for tp, messages in batch.items():
                for m in messages:
                    assert all(k.startswith("ce_") or k == "content-type" for k, _ in m.headers)
                    got.append(from_kafka(m.key, m.value, m.headers, tp.topic))
    finally:
        await consumer.stop()
    return got


def assert_complete_in_key_order(got: list[Event], sent: list[Event]) -> None:
    """Each id at least once, no other ids, and per key the first arrivals in sent order."""
    sent_ids = [e.id for e in sent]
    assert set(e.id for e in got) == set(sent_ids)
    index = {eid: i for i, eid in enumerate(sent_ids)}
    by_key: dict[str, list[int]] = {}
    firsts: set[str] = set()
    for e in got:
        if e.id in firsts:
            continue  # a repeat from an at-least-once re-send
        firsts.add(e.id)
        by_key.setdefault(e.key, []).append(index[e.id])
    for key, order in by_key.items():
        assert order == sorted(order), f"key {key} out of order"


async def test_relay_to_kafka_to_consumer(
    pg_dbs: Databases, tmp_path: Path, kafka: str, unique: Callable[[str], str]
) -> None:
    topic = unique("e2e")
    _, engine, outbox = await producer(pg_dbs)
    events = make_events(topic, 2000, keys=17)
    await write(engine, outbox, events, per_tx=100)

    relay = Relay(engine, kafka, outbox, batch_size=300)
    assert await relay.run_until_idle() == 2000
    assert await relay.run_until_idle() == 0
    assert relay.lag == 0

    got = await read_topic(kafka, topic)
    assert len(got) == 2000
    assert_complete_in_key_order(got, events)
    assert got[0].source == "/learnproof/tests"

    c_dbs = Databases("sqlite", tmp_path)
    _, c_engine = await c_dbs.engine("consumer")
    md = sa.MetaData()
    tracking = define_tracking_table(md)
    fold = fold_table(md)
    async with c_engine.begin() as conn:
        await conn.run_sync(md.create_all)
    group = unique("group")
    runner = ConsumerRunner(
        group, KafkaSource(kafka, [topic], group), c_engine, tracking, chain_handler(fold), 250
    )
    try:
        assert await runner.run_until_idle() == 2000
        assert await read_fold(c_engine, fold) == expected_fold(events)
        # More events later: only those are applied.
        more = make_events(topic, 50, keys=17, start=2000)
        await write(engine, outbox, more, per_tx=10)
        assert await relay.run_until_idle() == 50
        assert await runner.run_until_idle() == 50
        assert await read_fold(c_engine, fold) == expected_fold(events + more)
        # Replay from the start rebuilds the same read model.
        await runner.reset()
        async with c_engine.begin() as conn:
            await conn.execute(sa.delete(fold))
        assert await runner.run_until_idle() == 2050
        assert await read_fold(c_engine, fold) == expected_fold(events + more)
        # Replay from a time: records carry the event time, events n >= 1000 come again.
        await runner.reset(T0 + timedelta(seconds=1000))
        assert await runner.run_until_idle() == 1050
    finally:
        await runner.close()
        await c_dbs.close()


async def test_two_relay_replicas_publish_each_row_once(
    pg_dbs: Databases, kafka: str, unique: Callable[[str], str]
) -> None:
    topic = unique("replicas")
    _, engine, outbox = await producer(pg_dbs)
    events = make_events(topic, 1200, keys=7)
    first = Relay(engine, kafka, outbox, batch_size=100)
    second = Relay(engine, kafka, outbox, batch_size=100)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(r.run(stop)) for r in (first, second)]
    await write(engine, outbox, events, per_tx=40)
    async with engine.connect() as conn:
        last = (await conn.execute(sa.select(sa.func.max(outbox.c.seq)))).scalar_one()

    async def done() -> bool:
        return await relay_position(engine) == last

    await wait_for(done, 60, "the relays to publish everything")
    stop.set()
    await asyncio.gather(*tasks)
    got = await read_topic(kafka, topic)
    assert sorted(e.id for e in got) == sorted(e.id for e in events)  # no repeats at all
    assert {first.published, second.published} == {0, 1200}
    assert_complete_in_key_order(got, events)


async def relay_position(engine: AsyncEngine) -> int:
    table = define_relay_table(sa.MetaData())
    async with engine.connect() as conn:
        try:
            return int((await conn.execute(sa.select(table.c.seq))).scalar_one_or_none() or 0)
        except sa.exc.ProgrammingError:
            return 0


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, PROC, *args], env=dict(os.environ))


async def drain(
    engine: AsyncEngine, kafka: str, topic: str, name: str, group: str, batch: int
) -> int:
    """Runs the chain-fold consumer to the end of the topic; returns the events it applied."""
    md = sa.MetaData()
    tracking = define_tracking_table(md)
    fold = fold_table(md)
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    source = KafkaSource(kafka, [topic], group)
    async with ConsumerRunner(name, source, engine, tracking, chain_handler(fold), batch) as runner:
        return await runner.run_until_idle()


async def wait_for(condition: Callable[[], object], max_wait: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + max_wait
    while asyncio.get_running_loop().time() < deadline:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_relay_killed_mid_stream_resumes_without_gap(
    pg_dbs: Databases, kafka: str, unique: Callable[[str], str]
) -> None:
    topic = unique("relaykill")
    url, engine, outbox = await producer(pg_dbs)
    events = make_events(topic, 1200, keys=11)
    proc = spawn("relay", url, kafka, "25")
    try:
        writer = asyncio.create_task(write(engine, outbox, events, per_tx=20))
        await wait_for(lambda: relay_position(engine), 60, "the relay to publish something")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed_at = await relay_position(engine)
        proc = spawn("relay", url, kafka, "25")
        await writer
        async with engine.connect() as conn:
            last = (await conn.execute(sa.select(sa.func.max(outbox.c.seq)))).scalar_one()

        async def done() -> bool:
            return await relay_position(engine) == last

        await wait_for(done, 60, "the restarted relay to catch up")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert 0 < killed_at < last, "the kill did not land mid-stream"
    got = await read_topic(kafka, topic)
    assert_complete_in_key_order(got, events)


async def test_consumer_killed_mid_batch_matches_a_clean_run(
    pg_dbs: Databases, tmp_path: Path, kafka: str, unique: Callable[[str], str]
) -> None:
    topic = unique("consumerkill")
    _, engine, outbox = await producer(pg_dbs)
    events = make_events(topic, 1500, keys=9)
    await write(engine, outbox, events, per_tx=100)
    # A duplicate re-send, as after a relay crash.
    await write(engine, outbox, events[400:600], per_tx=100)
    assert await Relay(engine, kafka, outbox).run_until_idle() == 1700

    crashed = tmp_path / "crashed.sqlite3"
    url = f"sqlite+aiosqlite:///{crashed}"
    name = "killed"
    proc = spawn("consume", url, kafka, topic, name, unique("killed"), "40", "0.03", "run")

    c_engine = make_engine(url)
    tracking = define_tracking_table(sa.MetaData())
    fold = fold_table(sa.MetaData())
    try:

        async def progressed() -> bool:
            try:
                async with c_engine.connect() as conn:
                    rows = (await conn.execute(sa.select(tracking.c.offset))).all()
            except sa.exc.OperationalError:
                return False
            return len(rows) > 0

        await wait_for(progressed, 60, "the consumer to apply a batch")
        await asyncio.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        partial = await read_fold(c_engine, fold)
        assert sum(n for n, _ in partial.values()) < 1500, "the kill came after the end"
        # Restarted (in a fresh group: the positions come from the tracking rows, not Kafka).
        assert await drain(c_engine, kafka, topic, name, unique("finish"), 40) > 0
        crashed_model = await read_fold(c_engine, fold)
    finally:
        if proc.poll() is None:
            proc.kill()
        await c_engine.dispose()

    clean_engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'clean.sqlite3'}")
    try:
        assert await drain(clean_engine, kafka, topic, "clean", unique("clean"), 500) == 1500
        clean_model = await read_fold(clean_engine, fold)
    finally:
        await clean_engine.dispose()
    assert crashed_model == clean_model
    assert crashed_model == expected_fold(events)


async def test_rebalance_when_a_second_member_joins_mid_stream(
    pg_dbs: Databases, kafka: str, unique: Callable[[str], str]
) -> None:
    topic = unique("rebalance")
    _, engine, outbox = await producer(pg_dbs)
    events = make_events(topic, 1000, keys=12)
    await write(engine, outbox, events, per_tx=100)
    assert await Relay(engine, kafka, outbox).run_until_idle() == 1000

    _, c_engine = await pg_dbs.engine("consumer")
    md = sa.MetaData()
    tracking = define_tracking_table(md)
    fold = fold_table(md)
    async with c_engine.begin() as conn:
        await conn.run_sync(md.create_all)
    inner = chain_handler(fold)

    async def slow(conn: AsyncConnection, batch: list[Event]) -> None:
        await inner(conn, batch)
        await asyncio.sleep(0.05)  # slow enough for the join to land mid-stream

    group = unique("group")
    # Two members of one consumer (same name, group and database): a scaled-out service.
    # dedupe off: the tracking rows and the rebalance handling alone must prevent both a gap
    # and a double application.
    first, second = (
        ConsumerRunner(
            "scaled", KafkaSource(kafka, [topic], group), c_engine, tracking, slow, 10, dedupe=False
        )
        for _ in range(2)
    )
    stop = asyncio.Event()
    one = asyncio.create_task(first.run(stop))

    async def applied() -> int:
        total = sa.select(sa.func.coalesce(sa.func.sum(fold.c.n), 0))
        async with c_engine.connect() as conn:
            return int((await conn.execute(total)).scalar_one())

    await wait_for(lambda: _at_least(applied, 50), 60, "the first member to make progress")
    two = asyncio.create_task(second.run(stop))  # joins: the group rebalances mid-stream
    await wait_for(lambda: _at_least(applied, 1000), 90, "both members to finish")
    await asyncio.sleep(1)  # nothing more may arrive
    stop.set()
    await asyncio.gather(one, two)
    assert second.applied > 0, "the second member never got a partition"
    assert first.applied + second.applied == 1000
    assert await read_fold(c_engine, fold) == expected_fold(events)


async def _at_least(count: Callable[[], Awaitable[int]], target: int) -> bool:
    return await count() >= target


async def test_a_relay_that_lost_its_lease_stops_at_its_next_position_write(
    pg_dbs: Databases, kafka: str, unique: Callable[[str], str]
) -> None:
    topic = unique("fencing")
    _, engine, outbox = await producer(pg_dbs)
    events = make_events(topic, 90, keys=4)
    await write(engine, outbox, events, per_tx=30)
    paused = Relay(engine, kafka, outbox, batch_size=30, lease_seconds=60)
    other = Relay(engine, kafka, outbox, batch_size=30, lease_seconds=60)
    assert await paused.step() == 30  # holds the lease, published rows 1-30
    # It stalls past its lease (a long GC pause, a frozen VM): the lease expires in the database.
    table = define_relay_table(sa.MetaData())
    async with engine.begin() as conn:
        await conn.execute(sa.update(table).values(lease_until=0))
    assert await other.step() == 30  # takes over from the durable position: rows 31-60
    # The stalled one wakes up still believing it leads: it may send one batch again, but its
    # position write is fenced, so it stops there and never moves the position.
    assert await paused.step() == 0
    assert await paused.step() == 0  # and it cannot take the lease back while `other` holds it
    assert await other.step() == 30  # rows 61-90
    assert await relay_position(engine) == 90
    got = await read_topic(kafka, topic)
    assert_complete_in_key_order(got, events)
    assert len(got) - len({e.id for e in got}) <= 30  # at most the one fenced batch repeated


async def test_relay_started_before_the_producer_created_its_outbox(
    tmp_path: Path, kafka: str, unique: Callable[[str], str]
) -> None:
    topic = unique("early")
    engine = make_engine(f"sqlite:///{tmp_path / 'producer.sqlite3'}")
    md = sa.MetaData()
    outbox = define_outbox_table(md)
    relay = Relay(engine, kafka, outbox, max_backoff=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(1)  # the relay polls a database without an outbox, and survives
        assert not task.done()
        async with engine.begin() as conn:
            await conn.run_sync(md.create_all)
        events = make_events(topic, 40, keys=3)
        await write(engine, outbox, events, per_tx=10)
        await wait_for(lambda: relay.published == 40, 30, "the relay to publish")
    finally:
        stop.set()
        await task
        await engine.dispose()
    assert_complete_in_key_order(await read_topic(kafka, topic), events)
