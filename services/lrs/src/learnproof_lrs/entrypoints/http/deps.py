"""FastAPI dependency of the xAPI routes: the wired LRS, the caller's credential, the version.

`async def`: FastAPI runs a plain `def` dependency in its thread pool, and thread hand-offs per
request were ~9% of the server's CPU under load (py-spy).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

from fastapi import Depends, Request

from learnproof_lrs.bootstrap import Lrs
from learnproof_lrs.domain.auth import Principal
from learnproof_lrs.domain.errors import PayloadTooLarge
from learnproof_lrs.domain.versions import negotiate


class Caller(NamedTuple):
    """Who is asking (the authenticated credential), under which xAPI version, of which LRS."""

    lrs: Lrs
    principal: Principal
    version: str


async def caller(request: Request) -> Caller:
    """The version first (a bad or missing header is 400 before anything else), then the
    credential. One dependency rather than three chained ones: FastAPI resolves every
    dependency per request, and three cost ~30-60 us more than one on a hot route."""
    version = negotiate(request.headers.get("x-experience-api-version"))
    request.state.xapi_version = version
    lrs: Lrs = request.app.state.lrs
    principal = await lrs.authenticator.authenticate(request.headers.get("authorization"))
    lrs.version_hints.record(principal.key, version)
    return Caller(lrs, principal, version)


CallerDep = Annotated[Caller, Depends(caller)]


async def read_body(request: Request, limit: int, what: str = "the request body") -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"{what} is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"{what} is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
