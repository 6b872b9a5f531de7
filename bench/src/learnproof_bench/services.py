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
from collections.abc import Callable
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
    events: int  # events in the LRS outbox at the end of the load


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


async def _outbox_end(lrs_url: str) -> tuple[tuple[int, int], int]:
    """The last (txid, seq) position of the LRS outbox, and how many events it holds."""
    conn = await asyncpg.connect(lrs_url)
    try:
        row = await conn.fetchrow(
            "SELECT txid, seq, (SELECT count(*) FROM outbox) AS events"
            " FROM outbox ORDER BY txid DESC, seq DESC LIMIT 1"
        )
    finally:
        await conn.close()
    if row is None:
        return (0, 0), 0
    return (int(row["txid"]), int(row["seq"])), int(row["events"])


async def _catch_up(url: str, table: str, end: tuple[int, int], wait: float) -> float | None:
    """Seconds until the consumer tracked in `table` has applied the statements topic up to
    `end` (polled every 0.1 s on one connection); None if not within `wait`."""
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        while time.perf_counter() - started < wait:
            try:
                row = await conn.fetchrow(
                    f'SELECT txid, "offset" FROM {table} WHERE topic = $1 AND partition = -1',
                    STATEMENTS_TOPIC,
                )
            except asyncpg.UndefinedTableError:  # the consumer has not created it yet
                row = None
            if row is not None and (int(row["txid"]), int(row["offset"])) >= end:
                return time.perf_counter() - started
            await asyncio.sleep(0.1)
        return None
    finally:
        await conn.close()


def _service(
    name: str, command: str, prefix: str, health_path: str, env: dict[str, str]
) -> tuple[ServiceProcess, int]:
    """`<command> serve` on a free loopback port, its settings under the `prefix`_ names."""
    port = free_port()
    settings = {"HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "WARNING", **env}
    process = ServiceProcess(
        name,
        [tool(command), "serve"],
        {f"{prefix}_{key}": value for key, value in settings.items()},
        f"http://127.0.0.1:{port}{health_path}",
    )
    return process, port


async def run_services(
    next_raws: Callable[[int], list[dict[str, Any]]], *, seconds: float, wait: float = 120.0
) -> ServicesResult:
    async with (
        fresh_database("svc_lrs") as lrs_url,
        fresh_database("svc_analytics") as analytics_url,
        fresh_database("svc_identity") as identity_url,
    ):
        lrs = Server(lrs_url)
        identity, identity_port = _service(
            "identity-sync",
            "learnproof-identity",
            "IDENTITY",
            "/healthz",
            {
                "DATABASE_URL": identity_url,
                "STATEMENTS_URL": lrs_url,
                "SCIM_TOKENS": f'["{SCIM_TOKEN}"]',
            },
        )
        analytics, _ = _service(
            "analytics",
            "learnproof-analytics",
            "ANALYTICS",
            "/v1/health",
            {
                "DATABASE_URL": analytics_url,
                "LRS_LOG_URL": lrs_url,
                "IDENTITY_LOG_URL": identity_url,
            },
        )
        services: dict[str, Server | ServiceProcess] = {
            "lrs": lrs,
            "identity-sync": identity,
            "analytics": analytics,
        }
        samplers = {name: RssSampler(s) for name, s in services.items()}
        try:
            for service in services.values():
                await service.start()
            for sampler in samplers.values():
                sampler.start()
            ingest, scim = await asyncio.gather(
                post_load(lrs.base, next_raws, batch=10, concurrency=8, seconds=seconds),
                scim_load(
                    f"http://127.0.0.1:{identity_port}/scim/v2", concurrency=4, seconds=seconds
                ),
            )
            end, events = await _outbox_end(lrs_url)
            caught = await asyncio.gather(
                _catch_up(analytics_url, "analytics_consumer_tracking", end, wait),
                _catch_up(identity_url, "consumer_tracking", end, wait),
            )
        finally:
            for sampler in samplers.values():
                await sampler.stop()
            for service in reversed(services.values()):
                await service.stop()
    return ServicesResult(
        ingest=ingest,
        scim=scim,
        peak_rss_mb={name: round(s.peak, 1) for name, s in samplers.items()},
        catch_up_s=dict(zip(("analytics", "identity-sync"), caught, strict=True)),
        events=events,
    )
