"""A consumer process SIGKILLed mid-stream and restarted ends with the read model of a clean run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import analytics_scenario as sc
import pytest
import sqlalchemy as sa
from analytics_testkit import close_harness, open_harness, reset_pg_schema, session_pg_database
from sqlalchemy.ext.asyncio import create_async_engine

from learnproof_analytics.adapters.tables import statement_facts

CLI = Path(sys.executable).with_name("learnproof-analytics")


def consume_process(database_url: str, log_url: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "ANALYTICS_DATABASE_URL": database_url,
        "ANALYTICS_LRS_LOG_URL": log_url,
        "ANALYTICS_IDENTITY_LOG_URL": log_url,
        "ANALYTICS_BATCH_SIZE": "50",  # many small transactions: the kill lands between or in one
        "ANALYTICS_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([str(CLI), "consume"], env=env, stderr=subprocess.PIPE)


async def databases(kind: str, tmp_path: Path) -> tuple[str, str, str]:
    """(killed run's database, clean run's database, event log) URLs."""
    if kind == "sqlite":
        return tuple(  # type: ignore[return-value]
            f"sqlite+aiosqlite:///{tmp_path / name}" for name in ("killed.db", "clean.db", "lrs.db")
        )
    urls = []
    for role in ("analytics_killed", "analytics_clean", "analytics_log"):
        url = await session_pg_database(role)
        await reset_pg_schema(url)
        urls.append(url)
    return urls[0], urls[1], urls[2]


async def facts_in(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(statement_facts)
            return int((await conn.execute(query)).scalar_one())
    except sa.exc.DBAPIError:
        return 0  # schema not created yet
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_sigkill_mid_stream_then_restart_equals_a_clean_run(
    kind: str, tmp_path: Path
) -> None:
    killed_url, clean_url, log_url = await databases(kind, tmp_path)
    clean = await open_harness(clean_url, log_url)
    events = [e for seed in (1, 2) for e in sc.events(sc.generate(240, seed))]
    await clean.log.publish(events)
    total_facts = sum(not e.type.startswith("identity") for e in events)

    process = consume_process(killed_url, log_url)
    facts_at_kill = 0
    try:
        for _ in range(600):
            await asyncio.sleep(0.05)
            facts_at_kill = await facts_in(killed_url)
            if facts_at_kill > 200:
                break
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert 0 < facts_at_kill < total_facts, "the kill must land mid-stream"

    restarted = consume_process(killed_url, log_url)
    try:
        await clean.catch_up()
        reference = await clean.container.read_model.dump()
        survivor = await open_harness(killed_url, log_url)
        try:
            for _ in range(600):
                if await survivor.seen() >= len(clean.log.ids):
                    break
                await asyncio.sleep(0.1)
            assert await survivor.container.read_model.dump() == reference
        finally:
            await close_harness(survivor)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)
        await close_harness(clean)
    assert restarted.returncode == 0, restarted.stderr.read() if restarted.stderr else ""
