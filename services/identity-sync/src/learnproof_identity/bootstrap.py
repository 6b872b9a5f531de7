"""Wires identity-sync: engine, tables, clock, link rules, the requirements file, the consumer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from learnproof_events.consumer import ConsumerRunner
from learnproof_events.db import async_url
from learnproof_events.envelope import Event

from .adapters.clock import SystemClock
from .adapters.requirements_file import read_requirements_file
from .adapters.schema import create_schema
from .adapters.statement_source import statement_source
from .adapters.tables import Tables, define_tables
from .domain.actors import LinkRule, default_rules, parse_rules
from .service_layer import catalog, compliance
from .service_layer.ports import Clock
from .service_layer.statements import handle_statement_events
from .service_layer.unit_of_work import Services
from .settings import IdentitySettings


@dataclass
class Container:
    """Everything the entrypoints need, built once per process."""

    settings: IdentitySettings
    services: Services

    @property
    def engine(self) -> AsyncEngine:
        return self.services.engine

    @property
    def tables(self) -> Tables:
        return self.services.tables

    def consumer(self, source: Any = None) -> ConsumerRunner:
        """The statement consumer (source from settings unless given, e.g. by a test)."""
        return ConsumerRunner(
            self.settings.consumer_name,
            source if source is not None else statement_source(self.settings),
            self.engine,
            self.tables.tracking,
            self.statement_handler,
            batch_size=self.settings.consumer_batch_size,
        )

    async def statement_handler(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        """Handler for ConsumerRunner: read models and outbox rows in the runner's transaction."""
        tx = self.services.on(conn)
        await handle_statement_events(tx, events)
        await tx.flush()

    async def tick(self) -> int:
        """Evaluate due dates and expiries at the clock's now; returns events published."""
        async with self.services.transaction() as tx:
            return await compliance.tick(tx)

    async def close(self) -> None:
        await self.engine.dispose()


def make_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite files get their folder, WAL and a busy timeout.

    Plain `postgresql://` / `sqlite://` URLs (what scripts and people type) get the async drivers.
    """
    url = async_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


async def bootstrap(
    settings: IdentitySettings | None = None,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
) -> Container:
    """Build the container, create the schema and load the requirements file."""
    settings = settings or IdentitySettings()
    engine = engine or make_engine(settings.database_url)
    tables = define_tables()
    await create_schema(engine)
    document = (
        read_requirements_file(settings.requirements_file) if settings.requirements_file else {}
    )
    rules = _link_rules(settings, document)
    services = Services(engine, tables, clock or SystemClock(), rules)
    if settings.requirements_file:
        async with services.transaction() as tx:
            # New, changed or removed requirements may assign or release anyone in the directory;
            # an unchanged file (every restart, every replica) costs one read.
            if await catalog.apply_file(tx, document):
                await compliance.evaluate_everyone(tx)
    return Container(settings, services)


def _link_rules(settings: IdentitySettings, document: dict[str, Any]) -> list[LinkRule]:
    raw = document.get("link_rules")
    if isinstance(raw, list) and raw:
        return parse_rules(raw)
    return default_rules(settings.idp_issuer)
