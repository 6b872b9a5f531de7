"""Alembic owns the schema: after `upgrade`, the database matches the tables the code declares."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from learnproof_lrs.adapters.db.engine import Database
from learnproof_lrs.adapters.db.migrate import alembic_config, upgrade
from learnproof_lrs.adapters.db.tables import credentials, metadata, statement_index
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


async def _alembic(db: Database, action: str, revision: str) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda sync: getattr(command, action)(alembic_config(sync), revision))


async def _down_and_up_again(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        await _alembic(db, "downgrade", "base")  # every revision's downgrade, newest first
        async with db.read() as conn:
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await upgrade(db)
        async with db.read() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert diff == []
    finally:
        await db.dispose()


async def test_every_migration_downgrades_and_upgrades_again_on_sqlite(tmp_path: Path) -> None:
    await _down_and_up_again(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")


@pytest.mark.postgres
async def test_every_migration_downgrades_and_upgrades_again_on_postgres(
    empty_pg_url: str,
) -> None:
    await _down_and_up_again(empty_pg_url)


@pytest.mark.postgres
async def test_plain_filters_read_the_index_alone(empty_pg_url: str) -> None:
    """The index key INCLUDEs is_primary (revision 0003), so a plain agent filter is an
    index-only scan of statement_index once its rows are all-visible (after VACUUM)."""
    db = Database(empty_pg_url)
    try:
        await upgrade(db)
        rows = [
            {
                "store_id": "default",
                "kind": "a",
                "value": f"mbox:mailto:l{i % 7}@example.com",
                "seq": i,
                "is_primary": i % 2 == 0,
                "stored_us": 1_000 + i,
            }
            for i in range(1, 3_000)
        ]
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(statement_index), rows)
        async with db.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(sa.text("VACUUM (ANALYZE) statement_index"))
            await auto.execute(sa.text("SET enable_bitmapscan = off"))
            await auto.execute(sa.text("SET enable_seqscan = off"))
            plan = (
                (
                    await auto.execute(
                        sa.text(
                            "EXPLAIN SELECT seq FROM statement_index WHERE store_id = 'default'"
                            " AND kind = 'a' AND value = 'mbox:mailto:l3@example.com'"
                            " AND is_primary"
                            " ORDER BY stored_us DESC, seq DESC LIMIT 101"
                        )
                    )
                )
                .scalars()
                .all()
            )
            definition = (
                await auto.execute(
                    sa.text("SELECT pg_get_indexdef('statement_index_pkey'::regclass)")
                )
            ).scalar_one()
        assert "INCLUDE (is_primary)" in definition
        assert any("Index Only Scan" in line and "statement_index_pkey" in line for line in plan)
    finally:
        await db.dispose()
