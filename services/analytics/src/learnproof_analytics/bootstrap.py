"""Wires settings to adapters: the engine, the read model, the consumer runners."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from learnproof_analytics.adapters.reader import SqlReadModel
from learnproof_analytics.adapters.schema import clear_read_models, create_schema, tracking
from learnproof_analytics.domain.assessments import AssessmentConfig
from learnproof_analytics.entrypoints.consumer import handle
from learnproof_analytics.settings import AnalyticsSettings, async_url
from learnproof_events.consumer import ConsumerRunner, KafkaSource, OutboxLogSource, Source


def make_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL and a busy timeout (API reads while the consumer writes)."""
    url = async_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        directory = os.path.dirname(database)
        if directory:
            os.makedirs(directory, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def make_runners(settings: AnalyticsSettings, engine: AsyncEngine) -> list[ConsumerRunner]:
    """The consumer runners of this deployment mode (Kafka when a bootstrap is configured)."""
    topics = [settings.statements_topic, settings.directory_topic]
    # cast: the Source protocol declares `topics: Sequence[str]` as a settable attribute, which
    # the concrete sources' `list[str]` cannot satisfy under mypy's invariance rule.
    sources: list[tuple[str, Source]] = []
    if settings.kafka_bootstrap:
        kafka = KafkaSource(settings.kafka_bootstrap, topics, settings.kafka_group)
        sources.append(("analytics", cast(Source, kafka)))
    else:
        statements = OutboxLogSource(
            async_url(settings.lrs_log_url), [settings.statements_topic], settings.lrs_outbox_table
        )
        sources.append(("analytics.statements", cast(Source, statements)))
        if settings.identity_log_url:
            directory = OutboxLogSource(
                async_url(settings.identity_log_url),
                [settings.directory_topic],
                settings.identity_outbox_table,
            )
            sources.append(("analytics.directory", cast(Source, directory)))
    return [
        ConsumerRunner(name, source, engine, tracking, handle, batch_size=settings.batch_size)
        for name, source in sources
    ]


@dataclass
class Container:
    """Everything a process of the analytics service needs, built from settings."""

    settings: AnalyticsSettings
    engine: AsyncEngine
    read_model: SqlReadModel
    assessment: AssessmentConfig
    runners: list[ConsumerRunner] = field(default_factory=list)

    async def start(self) -> None:
        """Create the schema."""
        await create_schema(self.engine)

    async def consume(self, stop: asyncio.Event) -> None:
        """Run every consumer until ``stop`` is set."""
        async with asyncio.TaskGroup() as group:
            for runner in self.runners:
                group.create_task(runner.run(stop))

    async def consume_until_idle(self) -> int:
        """Apply everything available now; returns the number of events applied."""
        total = 0
        for runner in self.runners:
            total += await runner.run_until_idle()
        return total

    async def rebuild(self) -> int:
        """Drop the read models, reset the consumers and replay from the beginning."""
        await clear_read_models(self.engine)
        for runner in self.runners:
            await runner.reset()
        return await self.consume_until_idle()

    async def close(self) -> None:
        """Release connections."""
        for runner in self.runners:
            await runner.close()
        await self.engine.dispose()


def bootstrap(settings: AnalyticsSettings | None = None) -> Container:
    """Build the container (settings from the environment unless given)."""
    settings = settings if settings is not None else AnalyticsSettings()
    engine = make_engine(settings.database_url)
    return Container(
        settings=settings,
        engine=engine,
        read_model=SqlReadModel(engine),
        assessment=AssessmentConfig(
            frozenset(settings.pretest_activities),
            frozenset(settings.posttest_activities),
            settings.assessment_convention,
        ),
        runners=make_runners(settings, engine),
    )


@contextlib.asynccontextmanager
async def running(settings: AnalyticsSettings | None = None) -> AsyncIterator[Container]:
    """A started container, closed on exit."""
    container = bootstrap(settings)
    try:
        await container.start()
        yield container
    finally:
        await container.close()
