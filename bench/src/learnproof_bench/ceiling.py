"""The raw-PostgreSQL ceiling: the LRS's rows written straight with asyncpg (COPY/executemany)."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import random
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg

from learnproof_bench.rows import (
    INDEX_COLUMNS,
    OUTBOX_COLUMNS,
    STATEMENT_COLUMNS,
    PreparedBatch,
    RowBuilder,
    now_ms,
)
from learnproof_lrs.domain.statement import to_micros

_RESERVE = (
    "SELECT array_agg(nextval('statements_seq_seq')),"
    " CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT) FROM generate_series(1, $1)"
)
_VOID = "UPDATE statements SET voided = true WHERE store_id = $1 AND id = any($2::text[])"
# The LRS's per-statement-id locks (its own ids and voiding targets), as statements_repo takes
# them in its first round trip.
_LOCK = (
    "SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT hashtextextended(x, 1281) AS h"
    " FROM unnest($1::text[]) AS x ORDER BY h) AS locks"
)


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


async def write_batch(
    conn: asyncpg.Connection, batch: PreparedBatch, method: str, *, lock: bool = False
) -> None:
    """One transaction: reserve seqs (+ txid) in one round trip, write the three tables."""
    async with conn.transaction():
        if lock:
            ids = [r[2] for r in batch.statements] + [r[7] for r in batch.statements if r[7]]
            await conn.execute(_LOCK, ids)
        seqs, txid = await conn.fetchrow(_RESERVE, len(batch.statements))
        for row, seq in zip(batch.statements, seqs, strict=True):
            row[0] = seq
            row[4] = txid
        index = [[*r[:3], seqs[pos], *r[4:]] for pos, r in batch.index]
        outbox = [[txid, *r[1:]] for r in batch.outbox]
        if method == "copy":
            await conn.copy_records_to_table(
                "statements", records=batch.statements, columns=STATEMENT_COLUMNS
            )
            await conn.copy_records_to_table(
                "statement_index", records=index, columns=INDEX_COLUMNS
            )
            await conn.copy_records_to_table("outbox", records=outbox, columns=OUTBOX_COLUMNS)
        else:
            await conn.executemany(_insert_sql("statements", STATEMENT_COLUMNS), batch.statements)
            await conn.executemany(_insert_sql("statement_index", INDEX_COLUMNS), index)
            await conn.executemany(_insert_sql("outbox", OUTBOX_COLUMNS), outbox)
        if batch.void_earlier:
            await conn.execute(_VOID, batch.statements[0][1], batch.void_earlier)


@dataclass
class CeilingResult:
    method: str
    batch: int
    concurrency: int
    statements: int
    seconds: float
    lock: bool

    @property
    def per_s(self) -> float:
        return self.statements / self.seconds if self.seconds else 0.0


def restore(template: PreparedBatch, store: str) -> PreparedBatch:
    """A copy of prepared rows under another store id (ids are unique per store only)."""
    return PreparedBatch(
        statements=[[None, store, *r[2:]] for r in template.statements],
        index=[(pos, [store, *r[1:]]) for pos, r in template.index],
        outbox=[list(r) for r in template.outbox],
        void_earlier=list(template.void_earlier),
    )


def templates(
    builder: RowBuilder,
    next_raws: Callable[[int], list[dict[str, Any]]],
    batch: int,
    statements: int = 6_000,
) -> list[PreparedBatch]:
    """Prepared batches to replay (built once: building is the LRS's Python work, not PG's)."""
    count = max(32, statements // batch)
    return [builder.build(next_raws(batch), now_ms()) for _ in range(count)]


async def run_ceiling(
    url: str,
    prepared: list[PreparedBatch],
    *,
    tag: str,
    concurrency: int,
    seconds: float,
    method: str,
    lock: bool = False,
) -> CeilingResult:
    """Write prepared batches for `seconds` with `concurrency` connections.

    The batches are replayed under fresh store ids (`tag`-cycle), so the rows are the same
    shape and size as the LRS's while the clock only sees the database work.
    """
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    assert pool is not None
    done = 0
    counter = itertools.count()
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < stop_at:
                n = next(counter)
                cycle, i = divmod(n, len(prepared))
                item = restore(prepared[i], f"{tag}-{cycle}")
                await write_batch(conn, item, method, lock=lock)
                done += len(item.statements)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.close()
    batch = len(prepared[0].statements)
    return CeilingResult(method, batch, concurrency, done, elapsed, lock)


def build_chunk(seed: int, size: int, actors: int, key: str) -> PreparedBatch:
    """Rows of `size` statements from their own seeded stream (runs in a worker process)."""
    from learnproof_bench.generator import StatementGenerator

    builder = RowBuilder("default", key, "bootstrap")
    return builder.build(StatementGenerator(seed, actors=actors).batch(size), now_ms())


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def replay(template: PreparedBatch, rng: random.Random, stored_us: int) -> PreparedBatch:
    """The template's rows again as new statements: fresh ids (in the JSON bodies and events
    too, a same-length byte replacement), this load's `stored_us` (also on the index rows)."""
    fresh: dict[str, str] = {}
    for row in template.statements:
        fresh[row[2]] = _uuid(rng)
    statements = []
    for row in template.statements:
        old, new = row[2], fresh[row[2]]
        body: bytes = row[8].replace(old.encode(), new.encode())
        target = row[7]
        if target is not None and target in fresh:
            body = body.replace(target.encode(), fresh[target].encode())
            target = fresh[target]
        statements.append([None, row[1], new, stored_us, None, row[5], row[6], target, body])
    target_of = {r[2]: r[7] for r in template.statements if r[7] is not None}
    voider_of = {t: sid for sid, t in target_of.items()}
    outbox = []
    for row in template.outbox:
        subject = row[6]
        data: str = row[8]
        other = target_of.get(subject) if row[2].endswith("stored") else voider_of.get(subject)
        for old in (subject, other):
            if old is not None and old in fresh:
                data = data.replace(old, fresh[old])
        outbox.append(
            [
                *(None, _uuid(rng), row[2], row[3], row[4], row[5]),
                fresh.get(subject, subject),
                row[7],
                data,
            ]
        )
    return PreparedBatch(
        statements=statements,
        index=[(pos, [*r[:5], stored_us]) for pos, r in template.index],
        outbox=outbox,
        void_earlier=[],
    )


async def bulk_load(
    url: str,
    key: str,
    total: int,
    *,
    seed: int,
    actors: int,
    chunk: int = 5_000,
    processes: int = 2,
    pool_size: int = 100_000,
    progress: Callable[[int], None] | None = None,
) -> float:
    """Load `total` statements with COPY, in chunks of `chunk` per transaction.

    The first `pool_size` statements are built from their own seeded streams by worker
    processes (the LRS's prepare(): the expensive part); past that, those chunks are replayed
    with fresh ids (`replay`), so a 1M store costs the database's time, not Python's. Returns
    the seconds taken (building included).
    """
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    ctx = multiprocessing.get_context("spawn")
    rng = random.Random(seed)
    built: list[PreparedBatch] = []
    try:
        with ProcessPoolExecutor(processes, mp_context=ctx) as pool:
            first = min(total, pool_size)
            sizes = iter(enumerate(min(chunk, first - start) for start in range(0, first, chunk)))
            # A bounded number of chunks in flight keeps memory flat when writing is slower.
            futures: deque[asyncio.Future[PreparedBatch]] = deque()

            def submit() -> None:
                for n, size in itertools.islice(sizes, 1):
                    futures.append(
                        loop.run_in_executor(
                            pool, build_chunk, seed * 1_000_003 + n, size, actors, key
                        )
                    )

            for _ in range(processes + 1):
                submit()
            loaded = 0
            while futures:
                item = await futures.popleft()
                submit()
                if total > first:
                    built.append(item)
                await write_batch(conn, item, "copy")
                loaded += len(item.statements)
                if progress is not None:
                    progress(loaded)
        # Replays: two connections, so PostgreSQL can use both cores while this one prepares.
        second = await asyncpg.connect(url)
        try:
            jobs = itertools.islice(itertools.cycle(built), max(0, -(-(total - loaded) // chunk)))

            async def writer(c: asyncpg.Connection) -> None:
                nonlocal loaded
                for template in jobs:
                    size = min(len(template.statements), total - loaded)
                    if size <= 0:
                        return
                    item = replay(template, rng, to_micros(now_ms()))
                    del item.statements[size:]
                    item.index = [(pos, r) for pos, r in item.index if pos < size]
                    item.outbox = item.outbox[:size]
                    loaded += size
                    await write_batch(c, item, "copy")
                    if progress is not None:
                        progress(loaded)

            if built:
                await asyncio.gather(writer(conn), writer(second))
        finally:
            await second.close()
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def settle_store(url: str) -> None:
    """Leave a bulk-loaded store as a grown one is, before queries are measured (not timed).

    VACUUM: what autovacuum does by itself to an insert-only table as it grows (PostgreSQL 13+:
    an insert-triggered vacuum every 20% of new rows) -- the visibility map, without which no
    index-only scan skips the heap; a store that reached 1M statements in production has been
    through it many times, its newest rows since the last pass have not (docs/benchmarks.md).
    CHECKPOINT: a first pass of queries right after the load read p95 ~10% (lists) to ~70%
    (statementId) above a second pass, most likely the checkpointer writing the load back.
    """
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
