"""xAPI versions the LRS serves and how a request's version header is read."""

from __future__ import annotations

import re

from learnproof_lrs.domain.errors import BadRequest

V103 = "1.0.3"
V200 = "2.0.0"
SERVED_VERSIONS = ("1.0.3", "2.0.0")

_V1 = re.compile(r"^1\.0(\.\d+)?$")
_V2 = re.compile(r"^2\.0(\.\d+)?$")


def negotiate(header: str | None) -> str:
    """Map an `X-Experience-API-Version` header to the version that governs the request.

    1.0, 1.0.x → 1.0.3 rules; 2.0, 2.0.x → 2.0.0 rules. Missing or anything else → 400.
    """
    if header is None:
        raise BadRequest("X-Experience-API-Version header is required")
    value = header.strip()
    if _V1.match(value):
        return V103
    if _V2.match(value):
        return V200
    raise BadRequest(f"X-Experience-API-Version {value!r} is not supported; served: 1.0.3, 2.0.0")
