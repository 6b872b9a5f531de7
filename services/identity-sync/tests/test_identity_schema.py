"""Alembic owns identity-sync's schema: the migrations build exactly the declared tables, a
database made before them (by `create_all`) is adopted with its rows, and replicas starting
together on an empty PostgreSQL database do not collide."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from learnproof_identity.adapters.schema import VERSION_TABLE, create_schema
from learnproof_identity.adapters.tables import define_tables
from learnproof_identity.bootstrap import make_engine


async def _differences(engine: AsyncEngine) -> list[object]:
    def diff(sync_conn: sa.Connection) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"version_table": VERSION_TABLE})
        return list(compare_metadata(context, define_tables().metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(diff)


async def _versions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return [r[0] for r in rows]


async def test_the_migrations_build_exactly_the_declared_tables(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        await create_schema(engine)
        await create_schema(engine)  # idempotent: every start runs it
        assert await _differences(engine) == []
        assert await _versions(engine) == ["0001"]
    finally:
        await engine.dispose()


async def test_a_database_made_before_the_migrations_is_adopted_with_its_rows(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    tables = define_tables()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        async with engine.begin() as conn:  # what bootstrap() did before the migrations
            await conn.run_sync(tables.metadata.create_all)
            await conn.execute(
                tables.users.insert().values(
                    id="u1",
                    ordinal=1,
                    user_name_key="ada@acme.com",
                    active=True,
                    document={"userName": "ada@acme.com"},
                    version=1,
                    created=now,
                    last_modified=now,
                )
            )
        await create_schema(engine)
        assert await _versions(engine) == ["0001"]
        assert await _differences(engine) == []
        async with engine.connect() as conn:
            names = (await conn.execute(sa.select(tables.users.c.user_name_key))).scalars().all()
        assert names == ["ada@acme.com"]
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_replicas_starting_together_on_an_empty_database_all_start(
    empty_pg_url: str,
) -> None:
    engines = [make_engine(empty_pg_url) for _ in range(4)]
    try:
        # Without the migration lock they waited on each other for good: fail, do not hang CI.
        results = await asyncio.wait_for(
            asyncio.gather(*(create_schema(e) for e in engines), return_exceptions=True), 60
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert await _versions(engines[0]) == ["0001"]
        assert await _differences(engines[0]) == []
    finally:
        for engine in engines:
            await engine.dispose()
