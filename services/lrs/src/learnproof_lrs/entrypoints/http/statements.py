"""Routes of the Statements resource: thin — parse, call the service layer, shape the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from learnproof_lrs.adapters.db.statements_repo import StoredRow
from learnproof_lrs.bootstrap import Lrs
from learnproof_lrs.domain.auth import Principal
from learnproof_lrs.domain.errors import BadRequest, LrsError
from learnproof_lrs.domain.multipart import build_multipart_mixed
from learnproof_lrs.domain.statement import format_statement, format_stored, parse_accept_language
from learnproof_lrs.domain.validation import is_uuid
from learnproof_lrs.domain.versions import V200
from learnproof_lrs.entrypoints.http.deps import CallerDep, read_body
from learnproof_lrs.entrypoints.http.statement_params import (
    GetRequest,
    encode_more,
    parse_body,
    parse_get,
)
from learnproof_lrs.service_layer import statements as service

router = APIRouter()
CONSISTENT_THROUGH = "X-Experience-API-Consistent-Through"


@router.put("/statements", status_code=204)
async def put_statement(request: Request, caller: CallerDep) -> Response:
    lrs, principal, version = caller
    statement_id = request.query_params.get("statementId")
    if statement_id is None:
        raise BadRequest("PUT /statements needs the statementId parameter")
    extra = set(request.query_params) - {"statementId"}
    if extra:
        raise BadRequest(f"unknown parameters: {', '.join(sorted(extra))}")
    body = await read_body(request, lrs.settings.max_body_bytes)
    payload, parts = parse_body(body, request.headers.get("content-type"))
    if not isinstance(payload, dict):
        raise BadRequest("PUT takes a single statement object")
    if not is_uuid(statement_id):
        raise BadRequest("statementId must be a UUID")
    await service.store_statements(
        lrs.db,
        principal,
        payload,
        version,
        parts,
        put_id=statement_id.lower(),
        coalescer=lrs.coalescer,
    )
    return Response(status_code=204)


@router.post("/statements")
async def post_statements(request: Request, caller: CallerDep) -> Response:
    lrs, principal, version = caller
    if request.query_params:
        raise BadRequest(f"unknown parameters: {', '.join(sorted(request.query_params))}")
    body = await read_body(request, lrs.settings.max_body_bytes)
    payload, parts = parse_body(body, request.headers.get("content-type"))
    result = await service.store_statements(
        lrs.db, principal, payload, version, parts, coalescer=lrs.coalescer
    )
    return Response(orjson.dumps(result.ids), media_type="application/json")


@router.get("/statements")
@router.head("/statements")
async def get_statements(request: Request, caller: CallerDep) -> Response:
    lrs, principal, version = caller
    # Every GET answer carries Consistent-Through, errors included (Communication 2.1.3); a
    # successful read computes it on its own connection just before its query.
    try:
        return await _get(request, lrs, principal, version)
    except LrsError as exc:
        through = await service.consistent_through(lrs.db, principal)
        exc.headers[CONSISTENT_THROUGH] = format_stored(through)
        raise


async def _get(request: Request, lrs: Lrs, principal: Principal, version: str) -> Response:
    params = dict(request.query_params)
    get = parse_get(params, version, principal.store_id, lrs.settings.max_page_size)
    languages = parse_accept_language(request.headers.get("accept-language"))
    headers: dict[str, str] = {}
    if get.statement_id is not None:
        row, files, through = await service.get_statement(
            lrs.db, principal, get.statement_id, voided=get.voided, with_attachments=get.attachments
        )
        headers[CONSISTENT_THROUGH] = format_stored(through)
        if version == V200:
            headers["Last-Modified"] = _http_date(row.stored_us)
        return _answer(_render(row, get.fmt, languages), files, get.attachments, headers)
    assert get.filter is not None
    if get.fmt == "exact" and not get.attachments:
        # The common case: the stored bytes, joined by the database, spliced in as they are.
        joined = await service.query_statements_joined(lrs.db, principal, get.filter)
        headers[CONSISTENT_THROUGH] = format_stored(joined.through)
        if version == V200 and joined.newest_us is not None:
            headers["Last-Modified"] = _http_date(joined.newest_us)
        document = b'{"statements":[%b],"more":%b}' % (
            joined.joined,
            orjson.dumps(_more_link(lrs, get, joined.more)),
        )
        return Response(document, media_type="application/json", headers=headers)
    page = await service.query_statements(
        lrs.db, principal, get.filter, with_attachments=get.attachments
    )
    document = b'{"statements":[%b],"more":%b}' % (
        b",".join(_render(r, get.fmt, languages) for r in page.rows),
        orjson.dumps(_more_link(lrs, get, page.more)),
    )
    headers[CONSISTENT_THROUGH] = format_stored(page.through)
    if version == V200 and page.rows:
        headers["Last-Modified"] = _http_date(max(r.stored_us for r in page.rows))
    return _answer(document, page.attachments, get.attachments, headers)


def _more_link(lrs: Lrs, get: GetRequest, more: dict[str, Any] | None) -> str:
    if more is None:
        return ""
    return f"{lrs.settings.base_path}/statements?more={encode_more(get, more)}"


def _http_date(stored_us: int) -> str:
    return format_datetime(datetime.fromtimestamp(stored_us / 1_000_000, tz=UTC), usegmt=True)


def _render(row: StoredRow, fmt: str, languages: list[str]) -> bytes:
    """One statement as JSON; `exact` is the stored bytes themselves."""
    if fmt == "exact":
        return row.raw
    return orjson.dumps(format_statement(row.body, fmt, languages))


def _answer(
    document: bytes, files: dict[str, tuple[str, bytes]], multipart: bool, headers: dict[str, str]
) -> Response:
    payload = document
    if not multipart:
        return Response(payload, media_type="application/json", headers=headers)
    body, content_type = build_multipart_mixed(
        payload, [(sha, ctype, data) for sha, (ctype, data) in files.items()]
    )
    return Response(body, headers={**headers, "Content-Type": content_type})
