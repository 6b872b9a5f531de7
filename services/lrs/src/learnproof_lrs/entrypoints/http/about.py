"""GET /about: the versions this LRS serves (no authentication)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from learnproof_lrs.domain.versions import SERVED_VERSIONS

router = APIRouter()


@router.get("/about")
async def about() -> Response:
    return Response(
        orjson.dumps(
            {
                "version": list(SERVED_VERSIONS),
                "extensions": {
                    "https://learnproof.invalid/xapi/extensions/product": "learnproof-lrs 0.1"
                },
            }
        ),
        media_type="application/json",
    )
