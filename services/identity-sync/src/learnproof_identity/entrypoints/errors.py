"""The one place where errors become HTTP responses (SCIM error bodies under /scim)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..domain import scim
from ..domain.errors import IdentityError

SCIM_MEDIA_TYPE = "application/scim+json"
log = logging.getLogger(__name__)


class Unauthorized(IdentityError):
    """No or a wrong bearer token."""

    status = 401


class ScimResponse(JSONResponse):
    """JSON with the SCIM media type (RFC 7644 §3.1)."""

    media_type = SCIM_MEDIA_TYPE


def _respond(request: Request, status: int, detail: str, scim_type: str | None) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="learnproof"'} if status == 401 else None
    if request.url.path.startswith("/scim/"):
        body = scim.error_body(status, detail, scim_type)
        return ScimResponse(body, status_code=status, headers=headers)
    payload: dict[str, Any] = {"error": detail}
    if scim_type:
        payload["type"] = scim_type
    return JSONResponse(payload, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors and HTTP errors to status codes and bodies."""

    @app.exception_handler(IdentityError)
    async def _domain(request: Request, exc: IdentityError) -> JSONResponse:
        return _respond(request, exc.status, exc.detail, exc.scim_type)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
        return _respond(request, 400, str(first.get("msg")), "invalidSyntax")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Still a SCIM body, so an IdP logs something readable; the details go to our log.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _respond(request, 500, "internal error", None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _respond(request, exc.status_code, str(exc.detail), None)
