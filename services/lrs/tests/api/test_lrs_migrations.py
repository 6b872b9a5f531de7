"""Alembic owns the schema: after `upgrade`, the database matches the tables the code declares."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from learnproof_lrs.adapters.db.tables import credentials, metadata
from learnproof_lrs.bootstrap import Lrs, bootstrap
from learnproof_lrs.settings import LrsSettings


async def test_migrations_match_the_declared_tables(lrs: Lrs) -> None:
    async with lrs.db.read() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert diff == []


@pytest.mark.postgres
async def test_workers_starting_together_on_a_fresh_database_all_start(empty_pg_url: str) -> None:
    """`serve --workers N` starts N processes that each migrate and seed the bootstrap
    credential; on an empty database they used to collide (duplicate alembic_version)."""
    url = empty_pg_url
    apps = [
        bootstrap(
            LrsSettings(database_url=url, bootstrap_key="k", bootstrap_secret="s", kdf_log2_n=10)
        )
        for _ in range(4)
    ]
    try:
        results = await asyncio.gather(*(app.start() for app in apps), return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
        async with apps[0].db.read() as conn:
            version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
            creds = (await conn.execute(sa.select(credentials.c.key))).scalars().all()
        assert len(version) == 1
        assert creds == ["k"]
    finally:
        for app in apps:
            await app.stop()
