"""The `learnproof-identity` command: serve, consume, tick."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import datetime

import typer

from ..adapters.clock import ManualClock, SystemClock
from ..bootstrap import bootstrap
from ..service_layer.ports import Clock
from ..settings import IdentitySettings

app = typer.Typer(help="Learnproof identity-sync", no_args_is_help=True)


@app.command()
def serve(host: str | None = None, port: int | None = None) -> None:
    """Run the HTTP API (SCIM, admin, AuthZEN) with the statement consumer and the ticker."""
    import uvicorn

    from .app import create_app

    settings = IdentitySettings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def consume(until_idle: bool = typer.Option(False, help="Stop when caught up.")) -> None:
    """Consume xapi.statements.v1 (LRS outbox or Kafka) into compliance state."""
    asyncio.run(_consume(until_idle))


async def _consume(until_idle: bool) -> None:
    container = await bootstrap(IdentitySettings())
    runner = container.consumer()
    try:
        if until_idle:
            count = await runner.run_until_idle()
            typer.echo(f"applied {count} events")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await runner.run(stop)
    finally:
        await runner.close()
        await container.close()


@app.command()
def tick(now: str | None = typer.Option(None, help="Evaluate as of this ISO time.")) -> None:
    """Evaluate due dates and expiries once (at the wall clock, or --now)."""
    clock: Clock = SystemClock()
    if now:
        clock = ManualClock(datetime.fromisoformat(now.replace("Z", "+00:00")))
    published = asyncio.run(_tick(clock))
    typer.echo(f"published {published} events")


async def _tick(clock: Clock) -> int:
    container = await bootstrap(IdentitySettings(), clock=clock)
    try:
        return await container.tick()
    finally:
        await container.close()


def main() -> None:
    app()
