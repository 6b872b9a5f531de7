"""Fixtures for the LRS tests: an app on SQLite and on the project's real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from learnproof_lrs.adapters.db.migrate import upgrade
from learnproof_lrs.bootstrap import Lrs, bootstrap
from learnproof_lrs.entrypoints.http.app import create_app
from learnproof_lrs.settings import LrsSettings

KEY = "test-key"
SECRET = "test-secret"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()


def pg_url() -> str:
    url = os.environ.get("LEARNPROOF_TEST_PG_URL")
    if not url:
        if os.environ.get("LEARNPROOF_ALLOW_SKIP") == "1":
            pytest.skip("LEARNPROOF_TEST_PG_URL not set")
        pytest.fail("LEARNPROOF_TEST_PG_URL is not set: run through scripts/with-services.sh")
    return url


async def fresh_pg_database(prefix: str) -> str:
    """Create an empty database on the test cluster and return its URL."""
    base = pg_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    base = pg_url()
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def empty_pg_url() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards)."""
    url = await fresh_pg_database("lp_empty")
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


_session_pg: dict[str, str] = {}


async def session_pg_database() -> str:
    """One PostgreSQL database per session: CREATE DATABASE costs seconds, DELETE does not."""
    if "url" not in _session_pg:
        _session_pg["url"] = await fresh_pg_database("lp_lrs")
    return _session_pg["url"]


@pytest.fixture(scope="session", autouse=True)
def _drop_session_pg() -> Iterator[None]:
    yield
    if "url" in _session_pg:
        asyncio.run(drop_pg_database(_session_pg.pop("url")))


async def _truncate(lrs: Lrs) -> None:
    import sqlalchemy as sa

    from learnproof_lrs.adapters.db.tables import metadata

    async with lrs.db.write() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(sa.delete(table))


@pytest.fixture
async def lrs(backend: str, tmp_path: Path) -> AsyncIterator[Lrs]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'lrs.sqlite3'}"
    else:
        url = await session_pg_database()
    settings = LrsSettings(
        database_url=url,
        bootstrap_key=KEY,
        bootstrap_secret=SECRET,
        max_body_bytes=2_000_000,
        kdf_log2_n=10,  # the cheapest allowed cost: tests create credentials all the time
    )
    service = bootstrap(settings)
    if backend == "postgres":
        await upgrade(service.db)
        await _truncate(service)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@pytest.fixture
async def client(lrs: Lrs) -> AsyncIterator[httpx.AsyncClient]:
    """An xAPI 1.0.3 client with the all-scopes test credential."""
    app = create_app(lrs=lrs)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://lrs.test/xapi",
        headers={"Authorization": BASIC, "X-Experience-API-Version": "1.0.3"},
    ) as http:
        yield http


@pytest.fixture
async def client2(lrs: Lrs) -> AsyncIterator[httpx.AsyncClient]:
    """The same LRS spoken to with xAPI 2.0.0."""
    app = create_app(lrs=lrs)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://lrs.test/xapi",
        headers={"Authorization": BASIC, "X-Experience-API-Version": "2.0.0"},
    ) as http:
        yield http
