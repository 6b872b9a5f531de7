"""Schema migrations with Alembic, run from the app at start or from the CLI."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from learnproof_lrs.adapters.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(db: Database) -> None:
    """Bring the database to the newest revision (idempotent)."""
    async with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A migration may rewrite a large table: not bounded by the query timeout.
            await conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
