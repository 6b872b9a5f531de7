"""The HTTP load generator: POST batches at a fixed concurrency for a time box, timing each.

aiohttp, not httpx: on this 2-core machine the generator shares the CPU with the LRS and
PostgreSQL, and httpx used 54-76% of a core to drive ~100-140 single-statement requests/s
(its per-request overhead), aiohttp 7-14% at two to three times the rate. The CPU share the
client used is still reported with every row.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import psutil  # type: ignore[import-untyped]
import yarl

from learnproof_bench.infra import BENCH_KEY, BENCH_SECRET

GRACE_SECONDS = 10.0


def auth_headers() -> dict[str, str]:
    token = base64.b64encode(f"{BENCH_KEY}:{BENCH_SECRET}".encode()).decode()
    return {
        "Authorization": f"Basic {token}",
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class LoadResult:
    requests: int = 0
    statements: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    client_cpu: float = 0.0  # share of one core the load generator used
    error_samples: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.statements / self.seconds if self.seconds else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def post_load(
    base: str,
    next_raws: Callable[[int], list[dict[str, Any]]],
    *,
    batch: int,
    concurrency: int,
    seconds: float,
    max_requests: int | None = None,
) -> LoadResult:
    """POST batches of `batch` statements from `concurrency` tasks for `seconds` seconds.

    Bodies are serialised before the clock starts (enough for a generous rate), so the client
    spends its time on HTTP only; its CPU share is reported to show whether it is the limit.
    """
    # Bodies for a rate well above what this machine reaches (1: ~2,500 req/s, else 8,000/s).
    rate = 2_500 if batch == 1 else 8_000
    budget = max(concurrency * 4, int(seconds * rate / batch) + concurrency * 2)
    if max_requests is not None:
        budget = min(budget, max_requests)
    bodies = [orjson.dumps(next_raws(batch)) for _ in range(budget)]
    queue = list(reversed(bodies))
    result = LoadResult()
    url = f"{base}/statements"
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60.0)
    async with aiohttp.ClientSession(
        connector=connector, headers=auth_headers(), timeout=timeout
    ) as client:
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            while queue and time.perf_counter() < stop_at:
                body = queue.pop()
                t0 = time.perf_counter()
                try:
                    async with client.post(url, data=body) as response:
                        text = await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    result.errors += 1
                    if len(result.error_samples) < 3:
                        result.error_samples.append(repr(exc))
                    continue
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                if status == 200:
                    result.requests += 1
                    result.statements += batch
                else:
                    result.errors += 1
                    if len(result.error_samples) < 3:
                        result.error_samples.append(f"{status} {text[:200]!r}")

        me = psutil.Process()
        cpu0 = me.cpu_times()
        started = time.perf_counter()
        tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        # Requests still in flight GRACE seconds after the time box are abandoned and counted
        # as errors, so a stalled server cannot stretch a cell (or the quick mode) by minutes.
        _, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            result.errors += len(pending)
            result.error_samples.append(f"{len(pending)} requests abandoned after the time box")
        result.seconds = time.perf_counter() - started
        cpu1 = me.cpu_times()
    used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    result.client_cpu = used / result.seconds if result.seconds else 0.0
    return result


async def get_load(
    urls: list[str], *, concurrency: int, repeat: int, params_base: str
) -> LoadResult:
    """GET each of `urls` (cycled) `repeat` times in total from `concurrency` tasks."""
    result = LoadResult()
    todo = [urls[i % len(urls)] for i in range(repeat)]
    todo.reverse()
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60.0)
    base = params_base.rstrip("/")
    async with aiohttp.ClientSession(
        connector=connector, headers=auth_headers(), timeout=timeout
    ) as client:

        async def worker() -> None:
            while todo:
                url = todo.pop()
                t0 = time.perf_counter()
                # The URLs are already encoded: sent as they are.
                async with client.get(yarl.URL(base + url, encoded=True)) as response:
                    text = await response.read()
                    status = response.status
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                if status == 200:
                    result.requests += 1
                else:
                    result.errors += 1
                    if len(result.error_samples) < 3:
                        result.error_samples.append(f"{status} {text[:200]!r}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result
