"""Request plumbing shared by the routers: the container, bearer checks, JSON bodies."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

from ..bootstrap import Container
from ..domain.errors import InvalidValue
from .errors import Unauthorized


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def bearer(which: str, *, open_when_empty: bool) -> Callable[[Request], Awaitable[None]]:
    """A dependency checking `Authorization: Bearer <token>` against IDENTITY_<WHICH>_TOKENS."""

    async def check(request: Request) -> None:
        tokens = get_container(request).settings.token_values(which)
        if not tokens and open_when_empty:
            return
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not any(
            hmac.compare_digest(presented.strip(), t) for t in tokens
        ):
            raise Unauthorized("a valid bearer token is required")

    return check


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, whatever the JSON media type (scim+json included)."""
    try:
        value = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidValue(f"body is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidValue("body must be a JSON object")
    return value


Body = Annotated[dict[str, Any], Depends(json_body)]


def scim_base(request: Request) -> str:
    """The absolute base of the SCIM endpoints, for meta.location and $ref."""
    configured = get_container(request).settings.public_base_url
    base = configured.rstrip("/") if configured else str(request.base_url).rstrip("/")
    return f"{base}/scim/v2"


ScimBase = Annotated[str, Depends(scim_base)]
