"""Alembic owns the schema: after `upgrade`, the database matches the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from learnproof_lrs.adapters.db.tables import metadata
from learnproof_lrs.bootstrap import Lrs


async def test_migrations_match_the_declared_tables(lrs: Lrs) -> None:
    async with lrs.db.read() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert diff == []
