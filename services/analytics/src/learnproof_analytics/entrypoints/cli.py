"""The ``learnproof-analytics`` command: serve, consume, rebuild."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import typer
import uvicorn

from learnproof_analytics.bootstrap import running
from learnproof_analytics.entrypoints.api.app import create_app
from learnproof_analytics.settings import AnalyticsSettings

cli = typer.Typer(help="Learnproof analytics: read models of the statement stream.")


def _logging(settings: AnalyticsSettings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@cli.command()
def serve(
    consume: bool = typer.Option(True, help="Run the consumers in the same process."),
) -> None:
    """Serve the query API (and, by default, the consumers: embedded mode) on ANALYTICS_PORT."""
    settings = AnalyticsSettings()
    _logging(settings)
    app = create_app(settings, consume=consume)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower())


async def _consume_forever() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running() as container:
        await container.consume(stop)


@cli.command()
def consume() -> None:
    """Run only the consumers until SIGINT/SIGTERM (the API can run elsewhere)."""
    _logging(AnalyticsSettings())
    asyncio.run(_consume_forever())


async def _rebuild(until_idle: bool) -> int:
    async with running() as container:
        if until_idle:
            return await container.rebuild()
        return await container.consume_until_idle()


@cli.command()
def rebuild() -> None:
    """Drop the read models, reset the consumers and replay the log from the beginning.

    Stop other consumer processes of this service first: they would write positions back.
    """
    _logging(AnalyticsSettings())
    count = asyncio.run(_rebuild(True))
    typer.echo(f"rebuilt the read models from {count} events")


@cli.command("catch-up")
def catch_up() -> None:
    """Apply what the log holds now and exit (a one-shot consumer run)."""
    _logging(AnalyticsSettings())
    count = asyncio.run(_rebuild(False))
    typer.echo(f"applied {count} events")


@cli.command()
def bench(
    statements: int = typer.Option(100_000, help="Statements in the synthetic log."),
    database_url: str | None = typer.Option(None, help="Read-model DB (default: temp SQLite)."),
    log_url: str | None = typer.Option(None, help="Outbox DB (default: temp SQLite)."),
) -> None:
    """Projection throughput (events/s), rebuild time and query latencies, as a JSON line."""
    from learnproof_analytics.entrypoints.bench import as_json, run_bench

    typer.echo(as_json(asyncio.run(run_bench(statements, database_url, log_url))))


def main() -> None:
    """Console-script entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        cli()
