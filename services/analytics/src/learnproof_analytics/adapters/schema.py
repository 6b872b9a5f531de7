"""The read-model schema: Alembic migrations up to head, and clearing for a rebuild."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from learnproof_analytics.adapters.tables import READ_MODEL_TABLES, metadata
from learnproof_events.consumer import define_tracking_table

tracking = define_tracking_table(metadata, "analytics_consumer_tracking")
MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "analytics_alembic_version"
_LOCK = "learnproof-analytics schema"

__all__ = ["VERSION_TABLE", "clear_read_models", "create_schema", "metadata", "tracking"]


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic configuration pointing at this package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def create_schema(engine: AsyncEngine) -> None:
    """Bring the database to the newest revision (idempotent).

    On PostgreSQL replicas starting together take turns (a transaction-scoped advisory lock):
    without it two of them creating the version table at once wait on each other for good.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": _LOCK}
            )
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))


async def clear_read_models(engine: AsyncEngine) -> None:
    """Delete every read-model row (the tracking rows are the runner's to reset)."""
    async with engine.begin() as conn:
        for table in reversed(READ_MODEL_TABLES):
            await conn.execute(sa.delete(table))
