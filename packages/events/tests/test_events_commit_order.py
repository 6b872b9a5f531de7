"""Commit order on PostgreSQL: a row whose transaction commits late is never skipped."""

from __future__ import annotations

import asyncio
import random

import pytest
import sqlalchemy as sa
from events_testkit import Databases, make_events
from sqlalchemy.ext.asyncio import AsyncEngine

from learnproof_events.outbox import (
    START,
    OutboxRow,
    Position,
    append,
    define_outbox_table,
    read_after,
)

pytestmark = pytest.mark.postgres
TOPIC = "test.order.v1"


async def outbox_db(pg_dbs: Databases) -> tuple[AsyncEngine, sa.Table]:
    _, engine = await pg_dbs.engine("order")
    md = sa.MetaData()
    outbox = define_outbox_table(md)
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    return engine, outbox


async def test_a_later_commit_is_not_read_before_an_earlier_open_transaction(
    pg_dbs: Databases,
) -> None:
    engine, outbox = await outbox_db(pg_dbs)
    early, late = make_events(TOPIC, 2)
    slow = await engine.connect()
    tx = await slow.begin()
    await append(slow, outbox, [early])  # takes the lower seq, commits last
    async with engine.begin() as conn:
        await append(conn, outbox, [late])
    async with engine.connect() as conn:
        # A reader that went by seq alone would now see `late` and later skip `early`.
        naive = (await conn.execute(sa.select(outbox.c.seq).order_by(outbox.c.seq))).all()
        assert len(naive) == 1
        assert await read_after(conn, outbox, START, 100) == []
    await tx.commit()
    await slow.close()
    # Other sessions on the shared cluster may hold the horizon back for a moment: it delays
    # the rows, it must not lose them.
    rows = await read_eventually(engine, outbox, 2)
    assert [r.event for r in rows] == [early, late]


async def read_eventually(engine: AsyncEngine, outbox: sa.Table, count: int) -> list[OutboxRow]:
    for _ in range(200):
        async with engine.connect() as conn:
            rows = await read_after(conn, outbox, START, 100)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {len(rows)} of {count} rows became readable")


async def test_many_concurrent_writers_reader_never_skips(pg_dbs: Databases) -> None:
    engine, outbox = await outbox_db(pg_dbs)
    writers, txs_per_writer, per_tx = 12, 25, 4
    events = make_events(TOPIC, writers * txs_per_writer * per_tx, keys=writers)
    rnd = random.Random(7)

    async def writer(w: int) -> None:
        mine = [e for i, e in enumerate(events) if i % writers == w]
        for t in range(txs_per_writer):
            async with engine.begin() as conn:
                await append(conn, outbox, mine[t * per_tx : (t + 1) * per_tx])
                # Hold the transaction open a random while after taking seqs, so commits
                # overtake each other.
                await asyncio.sleep(rnd.random() * 0.02)

    seen: list[Position] = []
    got: list[str] = []
    done = asyncio.Event()

    loop = asyncio.get_running_loop()
    give_up = loop.time() + 60

    async def reader() -> None:
        position = START
        while True:
            finished = done.is_set()
            async with engine.connect() as conn:
                rows = await read_after(conn, outbox, position, 37)
            for r in rows:
                seen.append(r.position)
                got.append(r.event.id)
            if rows:
                position = rows[-1].position
            elif finished and (len(got) >= len(events) or loop.time() > give_up):
                # Sessions of other tests on the shared cluster may hold the horizon back for
                # a while after our writers are done: that may delay rows, never lose them.
                return
            else:
                await asyncio.sleep(0.002)

    naive_got: list[int] = []

    async def naive_reader() -> None:
        # What a reader keyed on seq alone would see: the hazard this test must exercise.
        last = 0
        while True:
            finished = done.is_set()
            async with engine.connect() as conn:
                seqs = [
                    r.seq
                    for r in await conn.execute(
                        sa.select(outbox.c.seq).where(outbox.c.seq > last).order_by(outbox.c.seq)
                    )
                ]
            naive_got.extend(seqs)
            last = max(seqs, default=last)
            if finished:
                return
            await asyncio.sleep(0.002)

    read = asyncio.create_task(reader())
    naive = asyncio.create_task(naive_reader())
    await asyncio.gather(*(writer(w) for w in range(writers)))
    done.set()
    await read
    await naive
    assert len(naive_got) < len(events), "no commit overtook another: the test proves nothing"
    # Every row exactly once, in strictly increasing positions, none skipped.
    assert sorted(got) == sorted(e.id for e in events)
    assert len(set(got)) == len(got)
    assert seen == sorted(seen)
    # Per key, events are read in the order each writer appended them.
    order = {e.id: i for i, e in enumerate(events)}
    by_key: dict[str, list[int]] = {}
    for event_id in got:
        e = events[order[event_id]]
        by_key.setdefault(e.key, []).append(order[event_id])
    assert all(v == sorted(v) for v in by_key.values())
    async with engine.connect() as conn:
        txids = {r.txid for r in await conn.execute(sa.select(outbox.c.txid))}
    assert len(txids) == writers * txs_per_writer  # one txid per transaction


async def test_an_open_transaction_in_another_database_does_not_hold_readers_back(
    pg_dbs: Databases,
) -> None:
    engine, outbox = await outbox_db(pg_dbs)
    _, elsewhere = await pg_dbs.engine("elsewhere")
    async with elsewhere.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE t (x int)"))
    other = await elsewhere.connect()
    other_tx = await other.begin()
    await other.execute(sa.text("INSERT INTO t VALUES (1)"))  # holds an xid, stays open
    try:
        same = await engine.connect()
        same_tx = await same.begin()
        await append(same, outbox, make_events(TOPIC, 1, start=99))  # holds an xid too
        async with engine.begin() as conn:
            await append(conn, outbox, make_events(TOPIC, 2))
        async with engine.connect() as conn:
            # Held back by the open transaction of this database only.
            assert await read_after(conn, outbox, START, 10) == []
        await same_tx.commit()
        await same.close()
        rows = await read_eventually(engine, outbox, 3)
        assert [r.event.data["n"] for r in rows] == [99, 0, 1]
    finally:
        await other_tx.rollback()
        await other.close()
