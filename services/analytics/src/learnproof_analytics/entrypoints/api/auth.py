"""Read access to the query API: a bearer API key from the analytics settings."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, description="An analytics read key (ANALYTICS_API_KEYS).")


def require_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Accept the request only with one of the configured read keys (constant-time compare)."""
    keys: frozenset[str] = request.app.state.read_keys
    offered = credentials.credentials if credentials is not None else ""
    # Compare against every key so the time taken does not reveal which one nearly matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(offered.encode(), key.encode())
    if not offered or not matched:
        raise HTTPException(
            status_code=401,
            detail={"code": "Unauthorized", "message": "a valid read key is required"},
            headers={"WWW-Authenticate": "Bearer"},
        )


Reader = Depends(require_reader)
