"""Engine creation for both databases: SQLite pragmas, PostgreSQL timeouts, schema set-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from learnproof_lrs.domain.errors import ServiceUnavailable


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` / `sqlite:///` URLs and pick the async drivers."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    return url


class Database:
    """One engine plus what differs per dialect (SQLite: one writer at a time in-process)."""

    def __init__(self, url: str, *, pool_size: int = 10, query_timeout_ms: int = 10_000) -> None:
        url = normalise_url(url)
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            path = url.split(":///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["connect_args"] = {
                "server_settings": {"statement_timeout": str(query_timeout_ms)},
            }
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        # The same pool; SQLite keeps SQLAlchemy's own transactions (see read/write).
        self._autocommit = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        if self.is_sqlite:
            sa.event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._write_lock = asyncio.Lock()
        # SQLite: when the write transaction in progress (if any) began.
        self.write_started: datetime | None = None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction. SQLite allows one writer: queue here instead of 'locked'."""
        if self.is_sqlite:
            async with self._write_lock:
                self.write_started = datetime.now(UTC)
                try:
                    async with _timeouts_as_503(), self.engine.begin() as conn:
                        yield conn
                finally:
                    self.write_started = None
        else:
            # PostgreSQL: the transaction is driven here on the asyncpg connection, so BEGIN
            # and the write's own time limit (the query timeout guards reads; a write may wait
            # longer for its locks) travel in one round trip; SQLAlchemy statements run inside
            # it unchanged (the connection is in driver-autocommit mode, so SQLAlchemy issues
            # no BEGIN/COMMIT of its own).
            async with _timeouts_as_503(), self._autocommit.connect() as conn:
                driver = await driver_connection(conn)
                await driver.execute("BEGIN; SET LOCAL statement_timeout = '120s'")
                try:
                    yield conn
                except BaseException:
                    try:
                        await driver.execute("ROLLBACK")
                    except BaseException:
                        await conn.invalidate()
                    raise
                await driver.execute("COMMIT")

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Across processes: one holder at a time (PostgreSQL session advisory lock), e.g. so
        that several workers starting at once migrate and seed the database one after another.
        SQLite: no lock (one process per SQLite file is the supported deployment)."""
        if self.is_sqlite:
            yield
            return
        async with self.engine.connect() as conn:
            key = {"name": name}
            await conn.execute(sa.text("SELECT pg_advisory_lock(hashtextextended(:name, 0))"), key)
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(
                    sa.text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))"), key
                )
                await conn.commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """Reads. PostgreSQL: each statement in its own implicit transaction (READ COMMITTED
        would take a fresh snapshot per statement anyway), saving a BEGIN and a ROLLBACK round
        trip per request."""
        async with _timeouts_as_503(), self._autocommit.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


async def driver_connection(conn: AsyncConnection) -> Any:
    """The asyncpg connection under a SQLAlchemy connection (PostgreSQL): hot paths run their
    few statements on it directly, because SQLAlchemy's compile and parameter processing cost
    more CPU per request than the database's own work (py-spy; docs/benchmarks.md)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


@asynccontextmanager
async def _timeouts_as_503() -> AsyncIterator[None]:
    """A statement cancelled by its time limit (or a busy SQLite file) is a 503, not a 500."""
    try:
        yield
    except DBAPIError as exc:
        text = str(exc.orig).lower()
        if "statement timeout" in text or "database is locked" in text:
            raise ServiceUnavailable("the database did not answer in time; retry") from exc
        raise
    except asyncpg.QueryCanceledError as exc:  # the raw asyncpg paths
        raise ServiceUnavailable("the database did not answer in time; retry") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: consumers in other processes read the outbox while the LRS writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
