"""Routes of State, Activity Profile, Agent Profile, Activities and Agents: thin wrappers."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import orjson
from fastapi import APIRouter, Request, Response

from learnproof_lrs.bootstrap import Lrs
from learnproof_lrs.domain import documents as dm
from learnproof_lrs.domain.auth import Principal
from learnproof_lrs.domain.errors import BadRequest
from learnproof_lrs.entrypoints.http.deps import CallerDep, read_body
from learnproof_lrs.service_layer import documents as service

router = APIRouter()


def _preconditions(request: Request) -> dm.Preconditions:
    return dm.Preconditions.from_headers(
        request.headers.get("if-match"), request.headers.get("if-none-match")
    )


def _http_date(micros: int) -> str:
    return format_datetime(datetime.fromtimestamp(micros / 1_000_000, tz=UTC), usegmt=True)


def _doc_headers(doc: dm.StoredDocument) -> dict[str, str]:
    return {"ETag": dm.quoted(doc.etag), "Last-Modified": _http_date(doc.updated_us)}


def _answer(request: Request, body: bytes, headers: dict[str, str]) -> Response:
    """200 with `body`; HEAD gets the same headers and no body."""
    headers = {**headers, "Content-Length": str(len(body))}
    return Response(b"" if request.method == "HEAD" else body, 200, headers=headers)


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


async def _get(
    kind: str, request: Request, lrs: Lrs, principal: Principal, version: str
) -> Response:
    parsed = dm.parse_request(kind, "GET", _params(request), principal.store_id, version)
    if parsed.key is not None:
        doc = await service.get_document(lrs.db, principal, parsed.key)
        if _preconditions(request).not_modified(doc.etag):
            return Response(status_code=304, headers=_doc_headers(doc))
        headers = {**_doc_headers(doc), "Content-Type": doc.content_type}
        return _answer(request, doc.content, headers)
    listing = await service.list_ids(lrs.db, principal, parsed.owner, parsed.since_us)
    body = orjson.dumps(listing.ids)
    headers = {"Content-Type": "application/json", "ETag": dm.quoted(dm.etag_of(body))}
    if listing.last_modified_us is not None:
        headers["Last-Modified"] = _http_date(listing.last_modified_us)
    return _answer(request, body, headers)


async def _write(
    kind: str, request: Request, lrs: Lrs, principal: Principal, version: str
) -> Response:
    method = request.method
    parsed = dm.parse_request(kind, method, _params(request), principal.store_id, version)
    assert parsed.key is not None  # PUT / POST require the id (parse_request)
    content_type = dm.normalise_content_type(request.headers.get("content-type"))
    content = await read_body(request, lrs.settings.max_document_bytes, "the document")
    doc = await service.write_document(
        lrs.db,
        principal,
        parsed.key,
        method=method,
        version=version,
        pre=_preconditions(request),
        content_type=content_type,
        content=content,
    )
    return Response(status_code=204, headers=_doc_headers(doc))


async def _delete(
    kind: str, request: Request, lrs: Lrs, principal: Principal, version: str
) -> Response:
    parsed = dm.parse_request(kind, "DELETE", _params(request), principal.store_id, version)
    if parsed.key is not None:
        await service.delete_document(lrs.db, principal, parsed.key, _preconditions(request))
    elif kind == dm.STATE:
        await service.delete_documents(lrs.db, principal, parsed.owner)
    else:
        raise BadRequest(f"DELETE needs the {dm.ID_PARAM[kind]} parameter")
    return Response(status_code=204)


def _document_routes(path: str, kind: str) -> None:
    """GET / HEAD / PUT / POST / DELETE of one document resource."""

    @router.api_route(path, methods=["GET", "HEAD"], name=f"get_{kind}")
    async def get(request: Request, caller: CallerDep) -> Response:
        return await _get(kind, request, *caller)

    @router.api_route(path, methods=["PUT", "POST"], status_code=204, name=f"write_{kind}")
    async def write(request: Request, caller: CallerDep) -> Response:
        return await _write(kind, request, *caller)

    @router.delete(path, status_code=204, name=f"delete_{kind}")
    async def delete(request: Request, caller: CallerDep) -> Response:
        return await _delete(kind, request, *caller)


_document_routes("/activities/state", dm.STATE)
_document_routes("/activities/profile", dm.ACTIVITY_PROFILE)
_document_routes("/agents/profile", dm.AGENT_PROFILE)


@router.api_route("/activities", methods=["GET", "HEAD"])
async def get_activity(request: Request, caller: CallerDep) -> Response:
    lrs, principal, _ = caller
    params = _params(request)
    if set(params) - {"activityId"}:
        raise BadRequest("GET /activities takes only the activityId parameter")
    activity_id = dm.parse_activity_id(params.get("activityId"))
    activity = await service.get_activity(lrs.db, principal, activity_id)
    return _answer(request, orjson.dumps(activity), {"Content-Type": "application/json"})


@router.api_route("/agents", methods=["GET", "HEAD"])
async def get_agent(request: Request, caller: CallerDep) -> Response:
    lrs, principal, version = caller
    params = _params(request)
    if set(params) - {"agent"}:
        raise BadRequest("GET /agents takes only the agent parameter")
    agent = dm.parse_agent(params.get("agent"), version)
    person = await service.get_person(lrs.db, principal, agent)
    return _answer(request, orjson.dumps(person), {"Content-Type": "application/json"})
