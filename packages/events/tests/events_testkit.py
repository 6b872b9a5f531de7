"""Helpers for the learnproof_events tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from learnproof_events.db import make_engine
from learnproof_events.envelope import Event

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def required_env(name: str) -> str:
    """An address the services script exports; missing means FAIL unless skipping is allowed."""
    value = os.environ.get(name)
    if not value:
        if os.environ.get("LEARNPROOF_ALLOW_SKIP") == "1":
            pytest.skip(f"{name} not set")
        pytest.fail(f"{name} is not set: run through scripts/with-services.sh")
    return value


def pg_base_url() -> str:
    return required_env("LEARNPROOF_TEST_PG_URL")


def kafka_bootstrap() -> str:
    return required_env("LEARNPROOF_TEST_KAFKA")


async def create_pg_database(prefix: str = "lp_events") -> str:
    """An empty database of our own on the shared cluster; returns its plain URL."""
    base = pg_base_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    conn = await asyncpg.connect(pg_base_url())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


class Databases:
    """Hands out fresh databases of one backend and drops them afterwards."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.created: list[str] = []
        self.engines: list[AsyncEngine] = []

    async def url(self, label: str) -> str:
        if self.backend == "sqlite":
            return (
                f"sqlite+aiosqlite:///{self.tmp_path / f'{label}-{uuid.uuid4().hex[:6]}.sqlite3'}"
            )
        url = await create_pg_database()
        self.created.append(url)
        return url

    async def engine(self, label: str) -> tuple[str, AsyncEngine]:
        url = await self.url(label)
        engine = make_engine(url)
        if self.backend == "sqlite":
            async with engine.begin() as conn:
                await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self.engines.append(engine)
        return url, engine

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()
        for url in self.created:
            await drop_pg_database(url)


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_events(topic: str, count: int, keys: int = 5, start: int = 0) -> list[Event]:
    """Events numbered start.., spread over ``keys`` keys, one second apart."""
    return [
        Event(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{topic}/{i}")),
            type="test.counted",
            source="/learnproof/tests",
            topic=topic,
            key=f"k{i % keys}",
            time=T0 + timedelta(seconds=i),
            data={"n": i},
            subject=str(i),
        )
        for i in range(start, start + count)
    ]


def fold_table(metadata: sa.MetaData) -> sa.Table:
    """A read model: per key, how many events and an order-sensitive chain of their ids."""
    return sa.Table(
        "fold",
        metadata,
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
    )


def chain_handler(table: sa.Table) -> Callable[[AsyncConnection, list[Event]], object]:
    """A deterministic fold: any loss, repeat or reorder within a key changes the chain."""
    import hashlib

    async def handle(conn: AsyncConnection, events: list[Event]) -> None:
        keys = sorted({e.key for e in events})
        rows = await conn.execute(sa.select(table).where(table.c.key.in_(keys)))
        state = {r.key: (r.n, r.chain) for r in rows}
        fresh = set(keys) - set(state)
        for e in events:
            n, chain = state.get(e.key, (0, ""))
            state[e.key] = (n + 1, hashlib.sha1(f"{chain}|{e.id}".encode()).hexdigest())
        for key in keys:
            n, chain = state[key]
            if key in fresh:
                await conn.execute(sa.insert(table).values(key=key, n=n, chain=chain))
            else:
                await conn.execute(
                    sa.update(table).where(table.c.key == key).values(n=n, chain=chain)
                )

    return handle


def expected_fold(events: list[Event]) -> dict[str, tuple[int, str]]:
    import hashlib

    state: dict[str, tuple[int, str]] = {}
    for e in events:
        n, chain = state.get(e.key, (0, ""))
        state[e.key] = (n + 1, hashlib.sha1(f"{chain}|{e.id}".encode()).hexdigest())
    return state


async def read_fold(engine: AsyncEngine, table: sa.Table) -> dict[str, tuple[int, str]]:
    async with engine.connect() as conn:
        return {r.key: (r.n, r.chain) for r in await conn.execute(sa.select(table))}
