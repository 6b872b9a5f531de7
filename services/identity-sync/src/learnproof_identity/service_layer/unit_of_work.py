"""One transaction of identity-sync: a Store, the time it runs at, and the events it will append."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from learnproof_events.envelope import Event

from ..adapters.store import Store
from ..adapters.tables import Tables
from ..domain.actors import LinkRule
from .ports import Clock

SOURCE = "/learnproof/identity-sync"
DIRECTORY_TOPIC = "identity.directory.v1"
STATUS_TOPIC = "compliance.status.v1"
ENTITLEMENT_TOPIC = "compliance.entitlements.v1"
STATEMENT_TOPIC = "xapi.statements.v1"


@dataclass
class Tx:
    """What a use case works with; its events reach the outbox in the same transaction."""

    store: Store
    now: datetime
    link_rules: Sequence[LinkRule]
    events: list[Event] = field(default_factory=list)

    def publish(
        self, topic: str, type_: str, key: str, data: dict[str, Any], subject: str | None = None
    ) -> None:
        self.events.append(
            Event(
                id=str(uuid.uuid4()),
                type=type_,
                source=SOURCE,
                topic=topic,
                key=key,
                time=self.now,
                data=data,
                subject=subject,
            )
        )

    async def flush(self) -> None:
        """Append buffered events to the outbox (still inside the transaction)."""
        pending, self.events = self.events, []
        await self.store.emit(pending)


@dataclass
class Services:
    """The wiring a use case needs, built by bootstrap."""

    engine: AsyncEngine
    tables: Tables
    clock: Clock
    link_rules: Sequence[LinkRule]

    def on(self, conn: AsyncConnection) -> Tx:
        """A Tx over a transaction someone else owns (the consumer runner's)."""
        return Tx(Store(conn, self.tables), self.clock.now(), self.link_rules)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Begin, hand out a Tx, flush its events, commit (or roll everything back)."""
        async with self.engine.begin() as conn:
            tx = self.on(conn)
            yield tx
            await tx.flush()
