"""`python -m learnproof_bench.profile`: pyinstrument over the LRS's ingest path, in-process.

The app runs in this process (httpx's ASGI transport, no sockets) against a fresh PostgreSQL
database, so the profile shows the LRS's own Python work per request and where it waits.
Needs pyinstrument (`.venv/bin/pip install pyinstrument`).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx
import orjson

from learnproof_bench.generator import StatementGenerator
from learnproof_bench.infra import BENCH_KEY, BENCH_SECRET, fresh_database
from learnproof_bench.ingest import auth_headers


async def run(batch: int, requests: int, concurrency: int, out: Path) -> None:
    from pyinstrument import Profiler

    from learnproof_lrs.bootstrap import bootstrap
    from learnproof_lrs.entrypoints.http.app import create_app
    from learnproof_lrs.settings import LrsSettings

    gen = StatementGenerator(11)
    async with fresh_database("profile") as url:
        settings = LrsSettings(
            database_url=url, bootstrap_key=BENCH_KEY, bootstrap_secret=BENCH_SECRET
        )
        lrs = bootstrap(settings)
        app = create_app(settings, lrs)
        await lrs.start()
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://lrs/xapi", headers=auth_headers()
            ) as client:
                for _ in range(5):  # warm-up: the KDF, statement caches
                    (
                        await client.post("/statements", content=orjson.dumps(gen.batch(10)))
                    ).raise_for_status()
                bodies = [orjson.dumps(gen.batch(batch)) for _ in range(requests)]
                todo = list(reversed(bodies))
                profiler = Profiler(async_mode="enabled", interval=0.0005)

                async def worker() -> None:
                    while todo:
                        body = todo.pop()
                        r = await client.post("/statements", content=body)
                        r.raise_for_status()

                started = time.perf_counter()
                profiler.start()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                profiler.stop()
                elapsed = time.perf_counter() - started
        finally:
            await lrs.stop()
    print(
        f"batch {batch} x {requests} requests, concurrency {concurrency}: {elapsed:.2f} s, "
        f"{batch * requests / elapsed:,.0f} statements/s (in-process, under the profiler)"
    )
    text = profiler.output_text(unicode=True, color=False)
    await asyncio.to_thread(_save, out, text, profiler.output_html())
    print(text)


def _save(out: Path, text: str, html: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".html").write_text(html)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(".bench/profile.txt"))
    args = parser.parse_args()
    asyncio.run(run(args.batch, args.requests, args.concurrency, args.out))


if __name__ == "__main__":
    main()
