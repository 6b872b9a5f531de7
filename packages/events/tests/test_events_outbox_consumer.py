"""Contract of outbox + embedded consumer (OutboxLogSource) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa
from events_testkit import (
    T0,
    Databases,
    chain_handler,
    expected_fold,
    fold_table,
    make_events,
    read_fold,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from learnproof_events.consumer import ConsumerRunner, OutboxLogSource, define_tracking_table
from learnproof_events.db import make_engine
from learnproof_events.envelope import Event
from learnproof_events.outbox import START, append, define_outbox_table, read_after

TOPIC = "test.counted.v1"
OTHER = "test.other.v1"


async def producer(dbs: Databases) -> tuple[str, AsyncEngine, sa.Table]:
    url, engine = await dbs.engine("producer")
    md = sa.MetaData()
    outbox = define_outbox_table(md)
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    return url, engine, outbox


async def consumer_db(dbs: Databases) -> tuple[AsyncEngine, sa.Table, sa.Table]:
    _, engine = await dbs.engine("consumer")
    md = sa.MetaData()
    tracking = define_tracking_table(md)
    fold = fold_table(md)
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    return engine, tracking, fold


async def write(engine: AsyncEngine, outbox: sa.Table, events: list[Event]) -> None:
    async with engine.begin() as conn:
        await append(conn, outbox, events)


async def test_append_reads_back_in_order_with_all_fields(dbs: Databases) -> None:
    _, engine, outbox = await producer(dbs)
    events = make_events(TOPIC, 1500)  # more than one INSERT chunk
    await write(engine, outbox, events)
    async with engine.connect() as conn:
        rows = await read_after(conn, outbox, START, 10_000)
    assert [r.event for r in rows] == events
    assert [r.position for r in rows] == sorted(r.position for r in rows)
    assert len({r.position for r in rows}) == 1500


async def test_rolled_back_append_leaves_nothing(dbs: Databases) -> None:
    _, engine, outbox = await producer(dbs)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with engine.begin() as conn:
            await append(conn, outbox, make_events(TOPIC, 3))
            raise Boom
    async with engine.connect() as conn:
        assert await read_after(conn, outbox, START, 100) == []


async def test_consumer_applies_each_event_once_and_resumes(dbs: Databases) -> None:
    url, p_engine, outbox = await producer(dbs)
    c_engine, tracking, fold = await consumer_db(dbs)
    first, second = make_events(TOPIC, 700), make_events(TOPIC, 300, start=700)
    await write(p_engine, outbox, first)
    await write(p_engine, outbox, make_events(OTHER, 50))  # not subscribed

    runner = ConsumerRunner(
        "fold", OutboxLogSource(url, [TOPIC]), c_engine, tracking, chain_handler(fold), 200
    )
    assert await runner.run_until_idle() == 700
    assert await runner.run_until_idle() == 0
    await runner.close()

    await write(p_engine, outbox, second)
    # A new runner (a restarted process) continues from the tracking rows.
    again = ConsumerRunner(
        "fold", OutboxLogSource(url, [TOPIC]), c_engine, tracking, chain_handler(fold), 200
    )
    assert await again.run_until_idle() == 300
    await again.close()
    assert await read_fold(c_engine, fold) == expected_fold(first + second)

    async with c_engine.connect() as conn:
        rows = (await conn.execute(sa.select(tracking))).all()
    assert [(r.consumer, r.topic, r.partition) for r in rows] == [("fold", TOPIC, -1)]


async def test_duplicate_event_ids_are_applied_once(dbs: Databases) -> None:
    url, p_engine, outbox = await producer(dbs)
    c_engine, tracking, fold = await consumer_db(dbs)
    events = make_events(TOPIC, 20)
    await write(p_engine, outbox, events)
    await write(p_engine, outbox, events[5:15])  # a relay re-send looks like this
    runner = ConsumerRunner(
        "fold", OutboxLogSource(url, [TOPIC]), c_engine, tracking, chain_handler(fold), 7
    )
    assert await runner.run_until_idle() == 20
    await runner.close()
    assert await read_fold(c_engine, fold) == expected_fold(events)


async def test_repeats_inside_one_batch_are_applied_once_in_first_order(dbs: Databases) -> None:
    url, p_engine, outbox = await producer(dbs)
    c_engine, tracking, fold = await consumer_db(dbs)
    events = make_events(TOPIC, 20)
    await write(p_engine, outbox, events + events[3:9] + events[:2])
    handed: list[int] = []
    inner = chain_handler(fold)

    async def record(conn: AsyncConnection, batch: list[Event]) -> None:
        handed.extend(e.data["n"] for e in batch)
        await inner(conn, batch)

    # One batch holds every copy.
    runner = ConsumerRunner("fold", OutboxLogSource(url, [TOPIC]), c_engine, tracking, record, 100)
    assert await runner.run_until_idle() == 20
    await runner.close()
    assert handed == list(range(20))
    assert await read_fold(c_engine, fold) == expected_fold(events)


async def test_the_dedupe_reads_no_more_of_its_table_than_the_batch(pg_dbs: Databases) -> None:
    """The seen-ids lookup goes through the primary key, one probe per id. It used to be a
    prepared `SELECT … WHERE event_id IN ($2 … $1001)`: after five executions PostgreSQL's
    generic plan walked every id of the consumer and compared each with the 1,000 parameters,
    0.55-0.7 s per batch at 30k ids, growing with the retained ids (7 days of them)."""
    url, p_engine, outbox = await producer(pg_dbs)
    c_engine, tracking, fold = await consumer_db(pg_dbs)
    c_url = c_engine.url.render_as_string(hide_password=False)
    events = make_events(TOPIC, 20_000)
    await write(p_engine, outbox, events)
    runner = ConsumerRunner(  # batches of 1,000 ids: the lookups' chunk size
        "fold", OutboxLogSource(url, [TOPIC]), c_engine, tracking, chain_handler(fold), 1000
    )
    assert await runner.run_until_idle() == 20_000
    await runner.close()
    await c_engine.dispose()  # the backends report their table statistics as they exit
    stats = make_engine(c_url)
    try:
        for _ in range(50):
            async with stats.connect() as conn:
                row = (
                    await conn.execute(
                        sa.text(
                            "SELECT n_tup_ins, seq_tup_read, coalesce(idx_tup_fetch, 0) AS fetched"
                            " FROM pg_stat_user_tables WHERE relname = :name"
                        ),
                        {"name": runner.seen.name},
                    )
                ).one()
            if row.n_tup_ins >= 20_000:
                break
            await asyncio.sleep(0.1)
        assert row.n_tup_ins == 20_000  # the statistics are in: every id recorded
        # Rows read from the table (not index probes): none but the hourly prune's, which runs
        # after the first batch and checks that batch's 1,000 ids (their seen_at) at most.
        assert row.seq_tup_read + row.fetched <= 1000, tuple(row)
        assert await read_fold(stats, fold) == expected_fold(events)
    finally:
        await stats.dispose()


async def test_failing_handler_commits_neither_effects_nor_position(dbs: Databases) -> None:
    url, p_engine, outbox = await producer(dbs)
    c_engine, tracking, fold = await consumer_db(dbs)
    events = make_events(TOPIC, 30)
    await write(p_engine, outbox, events)
    inner = chain_handler(fold)
    calls = {"n": 0}

    async def flaky(conn: AsyncConnection, batch: list[Event]) -> None:
        calls["n"] += 1
        await inner(conn, batch)  # writes, then fails: the writes must roll back
        if calls["n"] == 2:
            raise RuntimeError("handler failed")

    runner = ConsumerRunner("fold", OutboxLogSource(url, [TOPIC]), c_engine, tracking, flaky, 10)
    with pytest.raises(RuntimeError):
        await runner.run_until_idle()
    assert await read_fold(c_engine, fold) == expected_fold(events[:10])
    assert await runner.run_until_idle() == 20  # the failed batch again, then the rest
    await runner.close()
    assert await read_fold(c_engine, fold) == expected_fold(events)


async def test_reset_replays_from_start_and_from_a_time(dbs: Databases) -> None:
    url, p_engine, outbox = await producer(dbs)
    c_engine, tracking, _ = await consumer_db(dbs)
    events = make_events(TOPIC, 100)
    await write(p_engine, outbox, events)
    seen: list[int] = []

    async def record(conn: AsyncConnection, batch: list[Event]) -> None:
        seen.extend(e.data["n"] for e in batch)

    runner = ConsumerRunner("rec", OutboxLogSource(url, [TOPIC]), c_engine, tracking, record, 30)
    assert await runner.run_until_idle() == 100
    await runner.reset()
    assert await runner.run_until_idle() == 100
    await runner.reset(T0 + timedelta(seconds=60))
    assert await runner.run_until_idle() == 40
    await runner.close()
    assert seen == list(range(100)) + list(range(100)) + list(range(60, 100))


async def test_consumer_waits_for_a_producer_that_does_not_exist_yet(dbs: Databases) -> None:
    url = await dbs.url("later")
    c_engine, tracking, fold = await consumer_db(dbs)
    runner = ConsumerRunner(
        "fold", OutboxLogSource(url, [TOPIC]), c_engine, tracking, chain_handler(fold)
    )
    if dbs.backend == "sqlite":
        assert await runner.run_until_idle() == 0  # no file yet: nothing to read, no error
    engine = make_engine(url)
    try:
        md = sa.MetaData()
        outbox = define_outbox_table(md)
        async with engine.begin() as conn:
            await conn.run_sync(md.create_all)
        assert await runner.run_until_idle() == 0  # table exists, still empty
        await write(engine, outbox, make_events(TOPIC, 5))
        assert await runner.run_until_idle() == 5
    finally:
        await runner.close()
        await engine.dispose()
