"""The Alembic migrations build exactly the tables the code declares (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
