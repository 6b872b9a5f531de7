"""identity-sync's schema: Alembic migrations up to head.

Databases made before the migrations existed (the service used to run `create_all`) hold exactly
revision 0001's tables without a version table: they are stamped at 0001 and migrated on from
there. On PostgreSQL replicas starting together take turns (a transaction-scoped advisory lock).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "identity_alembic_version"
BASELINE = "0001"  # the schema `create_all` made before the migrations
_LOCK = "learnproof-identity schema"

__all__ = ["VERSION_TABLE", "create_schema"]


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic configuration pointing at this package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: sa.Connection) -> None:
    tables = set(sa.inspect(connection).get_table_names())
    config = alembic_config(connection)
    if VERSION_TABLE not in tables and "scim_users" in tables:
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")


async def create_schema(engine: AsyncEngine) -> None:
    """Bring the database to the newest revision (idempotent)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": _LOCK}
            )
        await conn.run_sync(_upgrade)
