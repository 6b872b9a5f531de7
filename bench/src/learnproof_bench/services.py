"""All three services under load at once: the memory each one needs, and how far behind the
consumers fall.

The LRS (its default workers) takes statements from LMS-like clients (POST batches of 10 at
concurrency 8) while an identity provider pushes SCIM users to identity-sync (concurrency 4);
analytics and identity-sync consume the LRS outbox in embedded mode (OutboxLogSource on
PostgreSQL), as `make run` wires them, each with its own PostgreSQL database. Peak RSS of each
service's process tree is sampled every 100 ms; after the load, the time until each consumer
has applied the last statement event is the lag it had built up.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg

from learnproof_bench.infra import (
    RssSampler,
    Server,
    ServiceProcess,
    free_port,
    fresh_database,
    tool,
)
from learnproof_bench.ingest import LoadResult, post_load

SCIM_TOKEN = "bench-scim-token"
STATEMENTS_TOPIC = "xapi.statements.v1"


@dataclass
class ServicesResult:
    ingest: LoadResult
    scim: LoadResult
    peak_rss_mb: dict[str, float]
    catch_up_s: dict[str, float | None]  # None: not caught up within the wait
    events: int  # statement events in the LRS outbox at the end of the load


def scim_user(prefix: str, n: int) -> dict[str, Any]:
    user = f"bench.{prefix}.{n:06d}@learnproof.example"
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user,
        "externalId": f"bench-{prefix}-{n:06d}",
        "name": {"givenName": "Bench", "familyName": f"User {n}"},
        "emails": [{"value": user, "primary": True}],
        "active": True,
    }


async def scim_load(base: str, *, concurrency: int, seconds: float) -> LoadResult:
    """Create SCIM users from `concurrency` tasks for `seconds` (each request timed)."""
    result = LoadResult()
    prefix = uuid.uuid4().hex[:8]  # every load creates users no earlier load created
    counter = itertools.count()
    headers = {"Authorization": f"Bearer {SCIM_TOKEN}", "Content-Type": "application/scim+json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                body = scim_user(prefix, next(counter))
                started = time.perf_counter()
                try:
                    async with session.post(f"{base}/Users", json=body) as r:
                        await r.read()
                        ok = r.status == 201
                        if not ok and len(result.error_samples) < 3:
                            result.error_samples.append(f"{r.status}")
                except aiohttp.ClientError as exc:
                    ok = False
                    if len(result.error_samples) < 3:
                        result.error_samples.append(repr(exc))
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.requests += 1
                result.statements += 1 if ok else 0
                result.errors += 0 if ok else 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - began
    return result


# A consumer applies the outbox in (txid, seq) order -- the commit order -- so "caught up" is a
# position in that order, not the highest seq (concurrent transactions take seqs out of order).


async def _outbox_end(lrs_url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(lrs_url)
    try:
        row = await conn.fetchrow(
            "SELECT txid, seq FROM outbox ORDER BY txid DESC, seq DESC LIMIT 1"
        )
        return (int(row["txid"]), int(row["seq"])) if row is not None else (0, 0)
    finally:
        await conn.close()


async def _outbox_count(lrs_url: str) -> int:
    conn = await asyncpg.connect(lrs_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM outbox") or 0)
    finally:
        await conn.close()


async def _applied(url: str, table: str) -> tuple[int, int]:
    """The (txid, seq) outbox position up to which a consumer has applied the statements."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            f'SELECT txid, "offset" FROM {table} WHERE topic = $1 AND partition = -1',
            STATEMENTS_TOPIC,
        )
        return (int(row["txid"]), int(row["offset"])) if row is not None else (0, 0)
    finally:
        await conn.close()


async def _catch_up(
    probe: Callable[[], Awaitable[tuple[int, int]]],
    end: tuple[int, int],
    started: float,
    wait: float,
) -> float | None:
    while time.perf_counter() - started < wait:
        try:
            if await probe() >= end:
                return time.perf_counter() - started
        except asyncpg.PostgresError:  # the consumer's tables may not exist yet
            pass
        await asyncio.sleep(0.1)
    return None


async def run_services(
    next_raws: Callable[[int], list[dict[str, Any]]], *, seconds: float, wait: float = 120.0
) -> ServicesResult:
    async with (
        fresh_database("svc_lrs") as lrs_url,
        fresh_database("svc_analytics") as analytics_url,
        fresh_database("svc_identity") as identity_url,
    ):
        lrs = Server(lrs_url)
        await lrs.start()
        identity_port, analytics_port = free_port(), free_port()
        identity = ServiceProcess(
            "identity-sync",
            [tool("learnproof-identity"), "serve"],
            {
                "IDENTITY_HOST": "127.0.0.1",
                "IDENTITY_PORT": str(identity_port),
                "IDENTITY_DATABASE_URL": identity_url,
                "IDENTITY_STATEMENTS_URL": lrs_url,
                "IDENTITY_SCIM_TOKENS": f'["{SCIM_TOKEN}"]',
                "IDENTITY_LOG_LEVEL": "WARNING",
            },
            f"http://127.0.0.1:{identity_port}/healthz",
        )
        analytics = ServiceProcess(
            "analytics",
            [tool("learnproof-analytics"), "serve"],
            {
                "ANALYTICS_HOST": "127.0.0.1",
                "ANALYTICS_PORT": str(analytics_port),
                "ANALYTICS_DATABASE_URL": analytics_url,
                "ANALYTICS_LRS_LOG_URL": lrs_url,
                "ANALYTICS_IDENTITY_LOG_URL": identity_url,
                "ANALYTICS_LOG_LEVEL": "WARNING",
            },
            f"http://127.0.0.1:{analytics_port}/v1/health",
        )
        services: dict[str, Server | ServiceProcess] = {"lrs": lrs}
        try:
            await identity.start()
            services["identity-sync"] = identity
            await analytics.start()
            services["analytics"] = analytics
            scim_base = f"http://127.0.0.1:{identity_port}/scim/v2"
            samplers = {name: RssSampler(s) for name, s in services.items()}
            for sampler in samplers.values():
                sampler.start()
            ingest, scim = await asyncio.gather(
                post_load(lrs.base, next_raws, batch=10, concurrency=8, seconds=seconds),
                scim_load(scim_base, concurrency=4, seconds=seconds),
            )
            end = await _outbox_end(lrs_url)
            events = await _outbox_count(lrs_url)
            started = time.perf_counter()
            caught = await asyncio.gather(
                _catch_up(
                    lambda: _applied(analytics_url, "analytics_consumer_tracking"),
                    end,
                    started,
                    wait,
                ),
                _catch_up(lambda: _applied(identity_url, "consumer_tracking"), end, started, wait),
            )
            for sampler in samplers.values():
                await sampler.stop()
            return ServicesResult(
                ingest=ingest,
                scim=scim,
                peak_rss_mb={name: round(s.peak, 1) for name, s in samplers.items()},
                catch_up_s=dict(zip(("analytics", "identity-sync"), caught, strict=True)),
                events=events,
            )
        finally:
            for service in (analytics, identity, lrs):
                await service.stop()
