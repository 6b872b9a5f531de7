"""Engine creation for both databases: SQLite pragmas, PostgreSQL timeouts, schema set-up."""

from __future__ import annotations

import asyncio
import contextlib
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

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        query_timeout_ms: int = 10_000,
        through_max_age_ms: int = 0,
    ) -> None:
        url = normalise_url(url)
        # PostgreSQL: the last Consistent-Through reading (monotonic time it was started, value)
        # and how long later requests may reuse it instead of asking again (service layer).
        self.through_max_age = through_max_age_ms / 1000
        self.through_reading: tuple[float, datetime] | None = None
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
            async with _timeouts_as_503(), self._pg_connection() as (conn, driver):
                await driver.execute("BEGIN; SET LOCAL statement_timeout = '120s'")
                yield conn
                status = await driver.execute("COMMIT")
                if status != "COMMIT":  # an error inside was swallowed: nothing was written
                    raise RuntimeError(f"the write transaction ended with {status}")

    @asynccontextmanager
    async def _pg_connection(self) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        """A pooled connection and its asyncpg driver connection, returned to the pool only
        outside any transaction and alive: otherwise rolled back, or dropped.

        The hot paths talk to asyncpg directly, so SQLAlchemy never sees their errors and
        would not notice a broken connection or an open transaction by itself.
        """
        async with self._autocommit.connect() as conn:
            driver = await driver_connection(conn)
            try:
                yield conn, driver
            except BaseException as exc:
                await _settle(conn, driver, broken=_is_disconnect(exc))
                raise
            if driver.is_in_transaction() or driver.is_closed():
                await _settle(conn, driver, broken=False)

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
            # The holder may take long (a migration): waiting is not bounded by the query
            # timeout. RESET restores the connection's default before it goes back to the pool.
            await conn.execute(sa.text("SET statement_timeout = 0"))
            await conn.execute(sa.text("SELECT pg_advisory_lock(hashtextextended(:name, 0))"), key)
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(
                    sa.text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))"), key
                )
                await conn.execute(sa.text("RESET statement_timeout"))
                await conn.commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """Reads. PostgreSQL: each statement in its own implicit transaction (READ COMMITTED
        would take a fresh snapshot per statement anyway), saving a BEGIN and a ROLLBACK round
        trip per request."""
        if self.is_sqlite:
            async with _timeouts_as_503(), self.engine.connect() as conn:
                yield conn
            return
        async with _timeouts_as_503(), self._pg_connection() as (conn, _driver):
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def _is_disconnect(exc: BaseException) -> bool:
    return isinstance(
        exc, (asyncpg.InterfaceError, asyncpg.PostgresConnectionError, OSError, ConnectionError)
    )


async def _settle(conn: AsyncConnection, driver: Any, *, broken: bool) -> None:
    """Roll back an open transaction; when that is impossible (closed, broken, cancelled
    again meanwhile), drop the connection so the pool never hands it out again."""
    try:
        if not broken and not driver.is_closed():
            if driver.is_in_transaction():
                await driver.execute("ROLLBACK")
            if not driver.is_in_transaction():
                return
    except BaseException:
        pass
    driver.terminate()
    with contextlib.suppress(BaseException):
        await conn.invalidate()


async def driver_connection(conn: AsyncConnection) -> Any:
    """The asyncpg connection under a SQLAlchemy connection (PostgreSQL): hot paths run their
    few statements on it directly, because SQLAlchemy's compile and parameter processing cost
    more CPU per request than the database's own work (py-spy; docs/benchmarks.md)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


@asynccontextmanager
async def _timeouts_as_503() -> AsyncIterator[None]:
    """A statement cancelled by its time limit, a busy SQLite file or a lost database
    connection is a 503 (retry), not a 500."""
    try:
        yield
    except DBAPIError as exc:
        text = str(exc.orig).lower()
        if "statement timeout" in text or "database is locked" in text:
            raise ServiceUnavailable("the database did not answer in time; retry") from exc
        if exc.connection_invalidated:
            raise ServiceUnavailable("lost the database connection; retry") from exc
        raise
    except asyncpg.QueryCanceledError as exc:  # the raw asyncpg paths
        raise ServiceUnavailable("the database did not answer in time; retry") from exc
    except Exception as exc:
        if _is_disconnect(exc):
            raise ServiceUnavailable("lost the database connection; retry") from exc
        raise


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: consumers in other processes read the outbox while the LRS writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
