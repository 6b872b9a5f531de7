"""The Alembic migrations build exactly the tables the code declares (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from analytics_testkit import create_pg_database, drop_pg_database

from learnproof_analytics.adapters.schema import VERSION_TABLE, create_schema, metadata
from learnproof_analytics.bootstrap import make_engine


async def test_migrations_match_the_declared_tables(backend: tuple[str, str]) -> None:
    engine = make_engine(backend[0])
    try:
        await create_schema(engine)
        await create_schema(engine)  # idempotent

        def diff(sync_conn: object) -> list[object]:
            context = MigrationContext.configure(
                sync_conn,
                opts={"version_table": VERSION_TABLE},  # type: ignore[arg-type]
            )
            return list(compare_metadata(context, metadata))

        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_replicas_starting_together_on_an_empty_database_all_start() -> None:
    url, name = await create_pg_database("analytics_replicas")
    engines = [make_engine(url) for _ in range(4)]
    try:
        # Without the migration lock they waited on each other for good: fail, do not hang CI.
        results = await asyncio.wait_for(
            asyncio.gather(*(create_schema(e) for e in engines), return_exceptions=True), 60
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
        async with engines[0].connect() as conn:
            versions = (
                await conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
            ).all()
        assert len(versions) == 1
    finally:
        for engine in engines:
            await engine.dispose()
        await drop_pg_database(name)
