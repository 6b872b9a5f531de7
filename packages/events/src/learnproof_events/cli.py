"""Command lines: the relay process and a consumer reset usable from the services' own CLIs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import datetime
from typing import Annotated

import orjson
import sqlalchemy as sa
import typer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from learnproof_events.consumer import (
    ConsumerRunner,
    KafkaSource,
    OutboxLogSource,
    Source,
    define_tracking_table,
)
from learnproof_events.db import async_url, make_engine
from learnproof_events.outbox import define_outbox_table
from learnproof_events.relay import Relay, define_relay_table
from learnproof_events.topics import TopicSpec


class RelaySettings(BaseSettings):
    """Relay settings; every field can come from LEARNPROOF_RELAY_<FIELD> or the command line."""

    model_config = SettingsConfigDict(env_prefix="LEARNPROOF_RELAY_")

    db: str = ""
    kafka: str = ""
    table: str = "outbox"
    position_table: str = "outbox_relay"
    name: str = ""
    batch_size: int = 1000
    lease_seconds: float = 15.0
    metrics_port: int = 0
    # JSON, e.g. {"xapi.statements.v1": {"partitions": 12, "retention_ms": -1}}
    topics: dict[str, TopicSpec] = Field(default_factory=dict)


relay_app = typer.Typer(add_completion=False, help="Publish an outbox table to Kafka.")
reset_app = typer.Typer(add_completion=False, help="Reset a consumer to replay its topics.")


@relay_app.command()
def relay(
    db: Annotated[str | None, typer.Option(help="Producer database URL")] = None,
    kafka: Annotated[str | None, typer.Option(help="Kafka bootstrap HOST:PORT")] = None,
    table: Annotated[str | None, typer.Option(help="Outbox table name")] = None,
    name: Annotated[str | None, typer.Option(help="Relay name (default: table name)")] = None,
    topics: Annotated[str | None, typer.Option(help="Topic specs as JSON")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Prometheus port (0: off)")] = None,
    once: Annotated[bool, typer.Option(help="Publish what is there, then exit")] = False,
) -> None:
    """Runs the relay until SIGTERM/SIGINT (or, with --once, until the outbox is drained)."""
    overrides: dict[str, object] = {
        k: v
        for k, v in {
            "db": db,
            "kafka": kafka,
            "table": table,
            "name": name,
            "metrics_port": metrics_port,
        }.items()
        if v is not None
    }
    if topics is not None:
        overrides["topics"] = orjson.loads(topics)
    settings = RelaySettings(**overrides)  # type: ignore[arg-type]
    if not settings.db or not settings.kafka:
        raise typer.BadParameter("--db and --kafka (or LEARNPROOF_RELAY_DB/_KAFKA) are required")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr="127.0.0.1")
    count = asyncio.run(_run_relay(settings, once))
    if once:
        typer.echo(f"published {count}")


async def _run_relay(settings: RelaySettings, once: bool) -> int:
    engine = make_engine(settings.db)
    relay = Relay(
        engine,
        settings.kafka,
        define_outbox_table(sa.MetaData(), settings.table),
        name=settings.name or None,
        position_table=define_relay_table(sa.MetaData(), settings.position_table),
        topics=settings.topics,
        batch_size=settings.batch_size,
        lease_seconds=settings.lease_seconds,
    )
    try:
        if once:
            return await relay.run_until_idle()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await relay.run(stop)
        return relay.published
    finally:
        await engine.dispose()


async def reset_consumer(
    db: str,
    consumer: str,
    source: Source,
    to: datetime | None = None,
    tracking_table: str = "consumer_tracking",
) -> None:
    """Moves a consumer's tracked positions to the start (or to ``to``) of its topics.

    For the services' own reset commands; they clear their read models themselves.
    """
    engine = make_engine(db)
    try:
        tracking = define_tracking_table(sa.MetaData(), tracking_table)

        async def ignore(*_: object) -> None:
            return None

        runner = ConsumerRunner(consumer, source, engine, tracking, ignore)
        await runner.reset(to)
    finally:
        await engine.dispose()


@reset_app.command()
def reset(
    db: Annotated[str, typer.Option(help="The consumer's database URL")],
    consumer: Annotated[str, typer.Option(help="Consumer name (its tracking rows)")],
    topic: Annotated[list[str], typer.Option(help="Topic to reset (repeatable)")],
    kafka: Annotated[str | None, typer.Option(help="Kafka bootstrap (Kafka mode)")] = None,
    outbox_url: Annotated[str | None, typer.Option(help="Producer DB URL (embedded)")] = None,
    outbox_table: Annotated[str, typer.Option(help="Producer outbox table")] = "outbox",
    tracking_table: Annotated[str, typer.Option(help="Tracking table")] = "consumer_tracking",
    to: Annotated[datetime | None, typer.Option(help="Replay from this time (UTC)")] = None,
) -> None:
    """Resets the positions; the next run of the consumer replays from there."""
    if (kafka is None) == (outbox_url is None):
        raise typer.BadParameter("give exactly one of --kafka and --outbox-url")
    source: Source
    if kafka is not None:
        source = KafkaSource(kafka, topic, group=consumer, create_topics=False)
    else:
        assert outbox_url is not None
        source = OutboxLogSource(async_url(outbox_url), topic, outbox_table)
    asyncio.run(reset_consumer(db, consumer, source, to, tracking_table))
    typer.echo(f"reset {consumer} on {', '.join(topic)}" + (f" to {to}" if to else " to start"))


def relay_main() -> None:
    """Entry point of learnproof-relay."""
    with contextlib.suppress(KeyboardInterrupt):
        relay_app()


def reset_main() -> None:
    """Entry point of learnproof-consumer-reset."""
    reset_app()
