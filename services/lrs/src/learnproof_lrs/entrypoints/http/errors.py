"""The one place that turns domain errors (and framework errors) into HTTP answers."""

from __future__ import annotations

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from learnproof_lrs.domain.errors import LrsError, Unauthorized

log = structlog.get_logger("learnproof.lrs")


def error_response(status: int, message: str, extra: dict[str, str] | None = None) -> Response:
    headers = dict(extra or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="xapi"'
    body = orjson.dumps({"error": {"status": status, "message": message}})
    return Response(body, status, headers=headers, media_type="application/json")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LrsError)
    async def _domain(_: Request, exc: LrsError) -> Response:
        if isinstance(exc, Unauthorized):
            return error_response(401, exc.message, exc.headers)
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(400, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        status = 400 if exc.status_code == 422 else exc.status_code
        return error_response(status, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path, error=repr(exc))
        return error_response(500, "internal error")
