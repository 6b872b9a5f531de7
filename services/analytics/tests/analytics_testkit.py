"""Fixtures of the analytics tests: an event log (outbox), the service on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from analytics_statements import FakeEvent
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from learnproof_analytics.bootstrap import Container, bootstrap
from learnproof_analytics.bootstrap import bootstrap as bootstrap_container
from learnproof_analytics.entrypoints.api.app import create_app
from learnproof_analytics.settings import AnalyticsSettings
from learnproof_events.envelope import Event
from learnproof_events.outbox import append, define_outbox_table
from learnproof_events.relay import Relay

API_KEY = "test-read-key"
TOPICS = {"xapi": "xapi.statements.v1", "identity": "identity.directory.v1"}


def required_service(variable: str) -> str:
    """A real service's address; a missing one fails the test (CI must never skip silently)."""
    value = os.environ.get(variable)
    if value:
        return value
    if os.environ.get("LEARNPROOF_ALLOW_SKIP") == "1":
        pytest.skip(f"{variable} is not set")
    pytest.fail(f"{variable} is not set: run under scripts/with-services.sh")


async def create_pg_database(prefix: str) -> tuple[str, str]:
    """A fresh PostgreSQL database: (async URL, its name)."""
    base = required_service("LEARNPROOF_TEST_PG_URL")
    name = f"lp_{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(base.replace("postgresql://", "postgresql+asyncpg://"))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = sa.make_url(base.replace("postgresql://", "postgresql+asyncpg://")).set(database=name)
    return url.render_as_string(hide_password=False), name


async def drop_pg_database(name: str) -> None:
    """Drop a database made by create_pg_database."""
    base = required_service("LEARNPROOF_TEST_PG_URL")
    admin = create_async_engine(base.replace("postgresql://", "postgresql+asyncpg://"))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


def to_event(fake: FakeEvent) -> Event:
    """A real envelope Event from a test FakeEvent."""
    family = fake.type.split(".")[0]
    return Event(
        id=fake.id,
        type=fake.type,
        source="/learnproof/lrs" if family == "xapi" else "/learnproof/identity-sync",
        topic=TOPICS[family],
        key=fake.key,
        time=datetime.now(UTC),
        data=fake.data,
        subject=None,
    )


class EventLog:
    """A producer's outbox table used as the embedded event log."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        self.table = define_outbox_table(sa.MetaData())
        self.ids: set[str] = set()

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(self.table.metadata.create_all)

    async def publish(self, events: Sequence[FakeEvent | Event]) -> None:
        real = [e if isinstance(e, Event) else to_event(e) for e in events]
        self.ids.update(e.id for e in real)
        async with self.engine.begin() as conn:
            await append(conn, self.table, real)

    async def close(self) -> None:
        await self.engine.dispose()


@dataclass
class Harness:
    """The analytics service wired to an event log, with an API client."""

    log: EventLog | KafkaLog
    container: Container
    client: httpx.AsyncClient

    async def catch_up(self, wait_s: float = 30.0) -> int:
        """Apply everything published so far; returns how many events the handlers received.

        On PostgreSQL the outbox is read only below the cluster's oldest running transaction
        (someone else's open transaction delays rows, never skips them), so wait for them all.
        """
        deadline = asyncio.get_running_loop().time() + wait_s
        applied = 0
        while True:
            applied += await self.container.consume_until_idle()
            if await self.seen() >= len(self.log.ids):
                return applied
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{await self.seen()} of {len(self.log.ids)} events applied")
            await asyncio.sleep(0.2)

    async def seen(self) -> int:
        """Distinct event ids the consumers have applied."""
        seen = self.container.runners[0].seen
        async with self.container.engine.connect() as conn:
            query = sa.select(sa.func.count(sa.distinct(seen.c.event_id)))
            return int((await conn.execute(query)).scalar_one())

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


def settings_for(database_url: str, log_url: str, **extra: Any) -> AnalyticsSettings:
    return AnalyticsSettings(
        database_url=database_url,
        lrs_log_url=log_url,
        identity_log_url=log_url,
        kafka_bootstrap=None,
        api_keys=[API_KEY],
        **extra,
    )


_PG_DATABASES: dict[str, tuple[str, str]] = {}


async def session_pg_database(role: str) -> str:
    """A PostgreSQL database for ``role``, made once per session (dropped at session end)."""
    if role not in _PG_DATABASES:
        _PG_DATABASES[role] = await create_pg_database(role)
    return _PG_DATABASES[role][0]


@pytest.fixture(scope="session", autouse=True)
async def _drop_session_pg_databases() -> AsyncIterator[None]:
    yield
    for _, name in _PG_DATABASES.values():
        await drop_pg_database(name)
    _PG_DATABASES.clear()


async def reset_pg_schema(url: str) -> None:
    """Empty a test database (cheaper than a new database per test on a shared machine)."""
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        await conn.execute(sa.text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(analytics database URL, event-log database URL) on SQLite files or PostgreSQL."""
    if request.param == "sqlite":
        yield (
            f"sqlite+aiosqlite:///{tmp_path / 'analytics.sqlite3'}",
            f"sqlite+aiosqlite:///{tmp_path / 'lrs.sqlite3'}",
        )
        return
    urls = (await session_pg_database("analytics"), await session_pg_database("analytics_log"))
    for url in urls:
        await reset_pg_schema(url)
    yield urls


async def open_harness(database_url: str, log_url: str, **extra: Any) -> Harness:
    log = EventLog(log_url)
    await log.create()
    container = bootstrap(settings_for(database_url, log_url, **extra))
    await container.start()
    app = create_app(container=container)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://analytics.test",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    return Harness(log, container, client)


async def close_harness(harness: Harness) -> None:
    await harness.client.aclose()
    await harness.container.close()
    await harness.log.close()


@pytest.fixture
async def harness(backend: tuple[str, str]) -> AsyncIterator[Harness]:
    """The service on the parametrised backend, over an empty event log."""
    opened = await open_harness(*backend)
    try:
        yield opened
    finally:
        await close_harness(opened)


class KafkaLog:
    """A PostgreSQL outbox published to Kafka by the real relay (learnproof_events.relay)."""

    def __init__(self, bootstrap: str, topics: dict[str, str], outbox_url: str) -> None:
        self.bootstrap = bootstrap
        self.topics = topics  # family ("xapi" / "identity") -> this test's own topic name
        self.outbox = EventLog(outbox_url)
        self.ids = self.outbox.ids
        self.relay = Relay(self.outbox.engine, bootstrap, self.outbox.table)

    async def create(self) -> None:
        await self.outbox.create()

    async def publish(self, events: Sequence[FakeEvent | Event]) -> None:
        # Fresh topic names per test: the broker is shared with other test runs.
        real = [e if isinstance(e, Event) else to_event(e) for e in events]
        renamed = [replace(e, topic=self.topics[e.type.split(".")[0]]) for e in real]
        await self.outbox.publish(renamed)
        published = 0
        for _ in range(100):  # rows of concurrent transactions elsewhere may hold it back
            published += await self.relay.run_until_idle()
            if published >= len(renamed):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"the relay published {published} of {len(renamed)} events")

    async def close(self) -> None:
        await self.outbox.close()


@pytest.fixture
async def kafka_harness() -> AsyncIterator[Harness]:
    """The service on PostgreSQL reading Kafka: outbox -> relay -> Kafka -> analytics."""
    bootstrap = required_service("LEARNPROOF_TEST_KAFKA")
    suffix = uuid.uuid4().hex[:8]
    topics = {
        "xapi": f"xapi.statements.v1.t{suffix}",
        "identity": f"identity.directory.v1.t{suffix}",
    }
    database_url = await session_pg_database("analytics_kafka")
    outbox_url = await session_pg_database("analytics_kafka_outbox")
    for url in (database_url, outbox_url):
        await reset_pg_schema(url)
    log = KafkaLog(bootstrap, topics, outbox_url)
    await log.create()
    settings = AnalyticsSettings(
        database_url=database_url,
        kafka_bootstrap=bootstrap,
        kafka_group=f"analytics-test-{suffix}",
        statements_topic=topics["xapi"],
        directory_topic=topics["identity"],
        api_keys=[API_KEY],
    )
    container = bootstrap_container(settings)
    await container.start()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container=container)),
        base_url="http://analytics.test",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    harness = Harness(log, container, client)
    try:
        yield harness
    finally:
        await close_harness(harness)
