"""create_app(): the FastAPI application of the LRS, with its middleware and routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learnproof_lrs.bootstrap import Lrs, bootstrap
from learnproof_lrs.entrypoints.http import about, statements
from learnproof_lrs.entrypoints.http.alternate import AlternateRequestSyntax
from learnproof_lrs.entrypoints.http.errors import install_error_handlers
from learnproof_lrs.service_layer.version_hints import VersionHints
from learnproof_lrs.settings import LrsSettings

EXPOSED_HEADERS = [
    "ETag",
    "Last-Modified",
    "X-Experience-API-Consistent-Through",
    "X-Experience-API-Version",
    "Content-Type",
]


def create_app(settings: LrsSettings | None = None, lrs: Lrs | None = None) -> FastAPI:
    lrs = lrs or bootstrap(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await lrs.start()
        # Everything alive now (modules, the app, caches) lives as long as the process: keep
        # it out of the garbage collector's full passes, which otherwise walk it every time
        # and show up as latency spikes (p99) under load.
        gc.freeze()
        try:
            yield
        finally:
            await lrs.stop()

    app = FastAPI(title="Learnproof LRS", version="0.1.0", lifespan=lifespan)
    app.state.lrs = lrs
    install_error_handlers(app)
    base = lrs.settings.base_path
    app.include_router(about.router, prefix=base)
    app.include_router(statements.router, prefix=base)
    try:
        from learnproof_lrs.entrypoints.http import documents
    except ImportError:  # the documents resources are optional while being built
        pass
    else:
        app.include_router(documents.router, prefix=base)
    app.add_middleware(VersionHeader, hints=lrs.version_hints)
    app.add_middleware(AlternateRequestSyntax, base_path=base, max_body=lrs.settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=lrs.settings.cors_origins,
        allow_methods=["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
    )
    return app


class VersionHeader:
    """Every answer says which xAPI version governed it: 1.0.3 for 1.0.x requests, 2.0.0 for 2.0.x.

    A request without a usable version header has no version of its own; its (error) answer
    names the version the same credential last used successfully, else the newest served.
    """

    def __init__(self, app: ASGIApp, hints: VersionHints) -> None:
        self.app = app
        self.hints = hints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        requested = b""
        authorization = b""
        for name, value in scope["headers"]:
            if name == b"x-experience-api-version":
                requested = value.strip()
            elif name == b"authorization":
                authorization = value
        if requested.startswith(b"2.0"):
            answer = b"2.0.0"
        elif requested.startswith(b"1.0"):
            answer = b"1.0.3"
        else:
            answer = self.hints.for_authorization(authorization).encode()

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    h for h in message.get("headers", []) if h[0] != b"x-experience-api-version"
                ]
                headers.append((b"x-experience-api-version", answer))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_version)
