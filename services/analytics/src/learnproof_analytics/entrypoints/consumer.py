"""The analytics consumer: events from the statement and directory topics into the read models."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from learnproof_analytics.adapters.writer import apply_changes
from learnproof_analytics.domain.projection import changes_for
from learnproof_events.envelope import Event


async def handle(conn: AsyncConnection, events: Sequence[Event]) -> None:
    """The ConsumerRunner handler: fold the batch, write its changes on the runner's connection."""
    await apply_changes(conn, changes_for(events))
