"""The raw-PostgreSQL ceiling: the LRS's rows written straight with asyncpg (COPY or executemany)."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
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

_RESERVE = (
    "SELECT array_agg(nextval('statements_seq_seq')),"
    " CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT) FROM generate_series(1, $1)"
)
_VOID = "UPDATE statements SET voided = true WHERE store_id = $1 AND id = any($2::text[])"
_LOCK = "SELECT pg_advisory_xact_lock(1280311297)"  # the LRS's key 0x4C50_0001


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


async def write_batch(
    conn: asyncpg.Connection, batch: PreparedBatch, method: str, *, lock: bool = False
) -> None:
    """One transaction: reserve seqs (+ txid) in one round trip, write the three tables."""
    async with conn.transaction():
        if lock:
            await conn.execute(_LOCK)
        seqs, txid = await conn.fetchrow(_RESERVE, len(batch.statements))
        for row, seq in zip(batch.statements, seqs, strict=True):
            row[0] = seq
        index = [[*r[:3], seqs[pos], r[4]] for pos, r in batch.index]
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


async def run_ceiling(
    url: str,
    builder: RowBuilder,
    next_raws: Callable[[int], list[dict[str, Any]]],
    *,
    batch: int,
    concurrency: int,
    seconds: float,
    method: str,
    lock: bool = False,
) -> CeilingResult:
    """Write for `seconds` with `concurrency` connections; rows are built before the clock runs.

    Rows are built up front (not timed): the ceiling is what the database takes, while the LRS
    figure includes its own Python work, which is exactly the gap the ratio shows.
    """
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    assert pool is not None
    # Enough prepared batches for the time box at a generous rate, built before timing.
    estimate = max(concurrency * 4, int(seconds * 20_000 / batch) + concurrency)
    estimate = min(estimate, max(concurrency * 4, 200_000 // batch))
    queue: asyncio.Queue[PreparedBatch] = asyncio.Queue()
    for _ in range(estimate):
        queue.put_nowait(builder.build(next_raws(batch), now_ms()))
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < stop_at:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await write_batch(conn, item, method, lock=lock)
                done += len(item.statements)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return CeilingResult(method, batch, concurrency, done, elapsed, lock)


def build_chunk(seed: int, size: int, actors: int, key: str) -> PreparedBatch:
    """Rows of `size` statements from their own seeded stream (runs in a worker process)."""
    from learnproof_bench.generator import StatementGenerator

    builder = RowBuilder("default", key, "bootstrap")
    return builder.build(StatementGenerator(seed, actors=actors).batch(size), now_ms())


async def bulk_load(
    url: str,
    key: str,
    total: int,
    *,
    seed: int,
    actors: int,
    chunk: int = 5_000,
    processes: int = 2,
    progress: Callable[[int], None] | None = None,
) -> float:
    """Load `total` statements with COPY; worker processes build chunks while this one writes.

    Each chunk comes from its own seeded stream (seed + chunk number), so the store is the same
    every run. Returns the seconds taken (building included).
    """
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(processes, mp_context=ctx) as pool:
            sizes = iter(enumerate(min(chunk, total - start) for start in range(0, total, chunk)))
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
                await write_batch(conn, item, "copy")
                loaded += len(item.statements)
                if progress is not None:
                    progress(loaded)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started
