"""create_app(): the FastAPI application of identity-sync (SCIM, admin API, AuthZEN gate)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..bootstrap import Container, bootstrap
from ..settings import IdentitySettings
from . import admin_routes, authzen_routes, scim_routes
from .errors import install_error_handlers

log = logging.getLogger(__name__)


def create_app(
    settings: IdentitySettings | None = None, container: Container | None = None
) -> FastAPI:
    """Build the app; with no container, the lifespan bootstraps one (and its background work)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if container is not None:
            app.state.container = container
            yield
            return
        built = await bootstrap(settings or IdentitySettings())
        app.state.container = built
        stop = asyncio.Event()
        tasks = []
        if built.settings.run_consumer:
            tasks.append(asyncio.create_task(built.consumer().run(stop)))
            tasks.append(asyncio.create_task(_ticker(built, stop)))
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, 10)
            await built.close()

    app = FastAPI(title="Learnproof identity-sync", version="0.1.0", lifespan=lifespan)
    if container is not None:
        app.state.container = container
    install_error_handlers(app)
    app.include_router(scim_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(authzen_routes.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _ticker(container: Container, stop: asyncio.Event) -> None:
    """Moves due dates along with the wall clock in `serve`."""
    while not stop.is_set():
        try:
            await container.tick()
        except Exception:
            log.exception("tick failed")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), container.settings.tick_seconds)
