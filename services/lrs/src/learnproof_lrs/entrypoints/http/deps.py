"""FastAPI dependencies: the wired services, the caller's credential, the xAPI version.

All are `async def`: FastAPI runs a plain `def` dependency in its thread pool, and two thread
hand-offs per request were ~9% of the server's CPU under load (py-spy).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from learnproof_lrs.bootstrap import Lrs
from learnproof_lrs.domain.auth import Principal
from learnproof_lrs.domain.errors import PayloadTooLarge
from learnproof_lrs.domain.versions import negotiate


async def get_lrs(request: Request) -> Lrs:
    lrs: Lrs = request.app.state.lrs
    return lrs


LrsDep = Annotated[Lrs, Depends(get_lrs)]


async def xapi_version(request: Request) -> str:
    version = negotiate(request.headers.get("x-experience-api-version"))
    request.state.xapi_version = version
    return version


VersionDep = Annotated[str, Depends(xapi_version)]


async def authenticate(request: Request, lrs: LrsDep, version: VersionDep) -> Principal:
    principal = await lrs.authenticator.authenticate(request.headers.get("authorization"))
    lrs.version_hints.record(principal.key, version)
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


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
