"""FastAPI dependencies: the wired services, the caller's credential, the xAPI version."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from learnproof_lrs.bootstrap import Lrs
from learnproof_lrs.domain.auth import Principal
from learnproof_lrs.domain.versions import negotiate


def get_lrs(request: Request) -> Lrs:
    lrs: Lrs = request.app.state.lrs
    return lrs


LrsDep = Annotated[Lrs, Depends(get_lrs)]


def xapi_version(request: Request) -> str:
    version = negotiate(request.headers.get("x-experience-api-version"))
    request.state.xapi_version = version
    return version


VersionDep = Annotated[str, Depends(xapi_version)]


async def authenticate(request: Request, lrs: LrsDep, version: VersionDep) -> Principal:
    principal = await lrs.authenticator.authenticate(request.headers.get("authorization"))
    lrs.version_hints.record(principal.key, version)
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]
