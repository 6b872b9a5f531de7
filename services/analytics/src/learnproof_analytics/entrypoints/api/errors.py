"""The one place that maps analytics domain errors to HTTP responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from learnproof_analytics.domain.errors import AnalyticsError, InvalidQuery, NotFound

STATUS = {NotFound: 404, InvalidQuery: 400}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The error body every non-2xx response carries."""
    return {"error": {"code": code, "message": message}}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 500)
    return JSONResponse(error_body(type(exc).__name__, str(exc)), status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(AnalyticsError, _domain_error)
