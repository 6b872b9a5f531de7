"""Creating and clearing the read-model schema (create_all: see the README on migrations)."""

from __future__ import annotations

import sqlalchemy as sa
from learnproof_events.consumer import define_tracking_table
from sqlalchemy.ext.asyncio import AsyncEngine

from learnproof_analytics.adapters.tables import READ_MODEL_TABLES, metadata

tracking = define_tracking_table(metadata, "analytics_consumer_tracking")


async def create_schema(engine: AsyncEngine) -> None:
    """Create missing tables (idempotent)."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


async def clear_read_models(engine: AsyncEngine) -> None:
    """Delete every read-model row (the tracking rows are the runner's to reset)."""
    async with engine.begin() as conn:
        for table in reversed(READ_MODEL_TABLES):
            await conn.execute(sa.delete(table))
