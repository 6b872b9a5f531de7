"""Fixtures for identity-sync tests: a real database (SQLite file or PostgreSQL), a settable
clock, the ASGI app behind httpx, and an LRS-style outbox to feed statement events from."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from identity_testkit import ISSUER, REQUIREMENTS, SCIM, T0, FakeLrs, Outbox
from sqlalchemy.ext.asyncio import create_async_engine

from learnproof_events import outbox
from learnproof_identity.adapters.clock import ManualClock
from learnproof_identity.bootstrap import Container, bootstrap
from learnproof_identity.entrypoints.app import create_app
from learnproof_identity.settings import IdentitySettings


def _pg_admin_url() -> str | None:
    url = os.environ.get("LEARNPROOF_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("LEARNPROOF_ALLOW_SKIP") == "1":
        pytest.skip("LEARNPROOF_TEST_PG_URL unset (LEARNPROOF_ALLOW_SKIP=1)")
    pytest.fail("LEARNPROOF_TEST_PG_URL is not set: run under scripts/with-services.sh")
    return None


def _asyncpg(url: str) -> sa.URL:
    return sa.make_url(url).set(drivername="postgresql+asyncpg")


@pytest.fixture(scope="session")
async def pg_database() -> AsyncIterator[str]:
    """One throw-away PostgreSQL database for the session (tables are reset per test)."""
    admin = _asyncpg(_pg_admin_url() or "")
    name = f"lp_identity_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite3'}"
    url: str = request.getfixturevalue("pg_database")
    return url


async def _reset_postgres(url: str) -> None:
    """Each PostgreSQL test starts from empty tables (the database lives for the session)."""
    if not url.startswith("postgresql"):
        return
    from learnproof_identity.adapters.schema import VERSION_TABLE
    from learnproof_identity.adapters.tables import define_tables

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(define_tables().metadata.drop_all)
        await conn.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    await engine.dispose()


@pytest.fixture
async def empty_database_url(database_url: str) -> str:
    """`database_url` with no identity-sync tables in it (not even the migrations' version)."""
    await _reset_postgres(database_url)
    return database_url


@pytest.fixture
async def empty_pg_url(pg_database: str) -> str:
    """The session's PostgreSQL database with no identity-sync tables in it."""
    await _reset_postgres(pg_database)
    return pg_database


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def requirements_file(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.json"
    path.write_text(json.dumps(REQUIREMENTS))
    return path


@pytest.fixture
def settings(database_url: str, requirements_file: Path, tmp_path: Path) -> IdentitySettings:
    return IdentitySettings(
        database_url=database_url,
        statements_url=f"sqlite+aiosqlite:///{tmp_path / 'lrs.sqlite3'}",
        scim_tokens=["okta-token", "entra-token"],  # type: ignore[list-item]
        requirements_file=str(requirements_file),
        idp_issuer=ISSUER,
        run_consumer=False,
    )


@pytest.fixture
async def container(settings: IdentitySettings, clock: ManualClock) -> AsyncIterator[Container]:
    await _reset_postgres(settings.database_url)
    built = await bootstrap(settings, clock=clock)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container=container)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://identity.test",
        headers={"Authorization": "Bearer okta-token", "Content-Type": SCIM},
    ) as http:
        yield http


@pytest.fixture
async def published(container: Container) -> Outbox:
    box = Outbox(container)
    await box.new()
    return box


@pytest.fixture
def lrs(settings: IdentitySettings) -> FakeLrs:
    return FakeLrs(settings.statements_url, outbox.define_outbox_table(sa.MetaData()))
