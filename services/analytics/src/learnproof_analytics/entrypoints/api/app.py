"""The FastAPI application factory: settings and container are built here, never at import."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from learnproof_analytics.bootstrap import Container, bootstrap
from learnproof_analytics.entrypoints.api import (
    errors,
    routes_assessments,
    routes_courses,
    routes_engagement,
    routes_learners,
    routes_system,
)
from learnproof_analytics.settings import AnalyticsSettings

DESCRIPTION = """Read models of the Learnproof xAPI statement stream: learner progress, course
figures, pre/post assessment deltas and engagement. Every figure can be cut by time window,
activity/course, registration and (through identity-sync) group, manager or department.
Authenticate with `Authorization: Bearer <read key>`; definitions of every figure are in the
service README."""


def create_app(
    settings: AnalyticsSettings | None = None,
    *,
    container: Container | None = None,
    consume: bool = False,
) -> FastAPI:
    """Build the app; with ``consume`` the consumers run in the same process (embedded mode)."""
    own = container is None
    container = container if container is not None else bootstrap(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        stop = asyncio.Event()
        task = asyncio.create_task(container.consume(stop)) if consume else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            if own:
                await container.close()

    app = FastAPI(
        title="Learnproof analytics",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.container = container
    app.state.read_keys = container.settings.read_keys()
    app.state.max_page_size = container.settings.max_page_size
    errors.install(app)
    for module in (
        routes_learners,
        routes_courses,
        routes_assessments,
        routes_engagement,
        routes_system,
    ):
        app.include_router(module.router)
    return app
