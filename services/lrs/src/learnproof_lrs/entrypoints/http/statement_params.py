"""Parsing of the Statements resource's query parameters and request bodies (the HTTP edge)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from learnproof_lrs.adapters.db.statements_repo import StatementFilter
from learnproof_lrs.domain.errors import BadRequest
from learnproof_lrs.domain.multipart import Part, parse_multipart_mixed
from learnproof_lrs.domain.statement import ifi_key, to_micros
from learnproof_lrs.domain.validation import is_iri, is_uuid, parse_timestamp, validate_agent

QUERY_PARAMS = frozenset(
    {
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "format",
        "attachments",
        "ascending",
    }
)
SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId", "attachments", "format"})
FORMATS = ("exact", "ids", "canonical")


@dataclass(frozen=True, slots=True)
class GetRequest:
    """What a GET on /statements asks for."""

    statement_id: str | None
    voided: bool
    fmt: str
    attachments: bool
    filter: StatementFilter | None


def _bool(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"{name} must be true or false")


def _format(params: Mapping[str, str]) -> str:
    fmt = params.get("format", "exact")
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}")
    return fmt


def parse_get(params: Mapping[str, str], version: str, store_id: str, max_page: int) -> GetRequest:
    """Validate a GET /statements query into a single lookup or a filtered query."""
    if "more" in params:
        return decode_more(params["more"], store_id)
    single = params.get("statementId"), params.get("voidedStatementId")
    if single[0] is not None or single[1] is not None:
        if single[0] is not None and single[1] is not None:
            raise BadRequest("statementId and voidedStatementId cannot be used together")
        extra = set(params) - SINGLE_PARAMS
        if extra:
            raise BadRequest(f"statementId cannot be combined with {', '.join(sorted(extra))}")
        sid = single[0] if single[0] is not None else single[1]
        assert sid is not None
        if not is_uuid(sid):
            raise BadRequest("statementId must be a UUID")
        return GetRequest(
            sid.lower(), single[1] is not None, _format(params), _bool(params, "attachments"), None
        )
    unknown = set(params) - QUERY_PARAMS
    if unknown:
        raise BadRequest(f"unknown parameters: {', '.join(sorted(unknown))}")
    agent_key = None
    if "agent" in params:
        try:
            agent = orjson.loads(params["agent"])
        except orjson.JSONDecodeError as exc:
            raise BadRequest("agent must be a JSON Agent or Group") from exc
        validate_agent(agent, version, "agent")
        agent_key = ifi_key(agent)
        if agent_key is None:
            raise BadRequest("agent must have an identifier (mbox, mbox_sha1sum, openid, account)")
    for name in ("verb", "activity"):
        if name in params and not is_iri(params[name]):
            raise BadRequest(f"{name} must be an IRI")
    registration = params.get("registration")
    if registration is not None and not is_uuid(registration):
        raise BadRequest("registration must be a UUID")
    limit = params.get("limit", "0")
    if not limit.isdigit():
        raise BadRequest("limit must be a non-negative integer")
    page = int(limit)
    page = max_page if page == 0 or page > max_page else page
    filt = StatementFilter(
        store_id=store_id,
        agent=agent_key,
        verb=params.get("verb"),
        activity=params.get("activity"),
        registration=registration.lower() if registration is not None else None,
        related_agents=_bool(params, "related_agents"),
        related_activities=_bool(params, "related_activities"),
        since_us=_time(params, "since", version),
        until_us=_time(params, "until", version),
        ascending=_bool(params, "ascending"),
        limit=page,
    )
    return GetRequest(None, False, _format(params), _bool(params, "attachments"), filt)


def _time(params: Mapping[str, str], name: str, version: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        return to_micros(parse_timestamp(value, version))
    except (BadRequest, ValueError) as exc:
        raise BadRequest(f"{name} must be an ISO 8601 timestamp") from exc


def encode_more(request: GetRequest, more: Mapping[str, Any]) -> str:
    """The opaque `more` token: the query, its cursor and the snapshot bound of page one."""
    assert request.filter is not None
    f = request.filter
    state = {
        "f": [
            f.agent,
            f.verb,
            f.activity,
            f.registration,
            f.related_agents,
            f.related_activities,
            f.since_us,
            f.until_us,
            f.ascending,
            f.limit,
        ],
        "fmt": request.fmt,
        "att": request.attachments,
        "after": [more["after_stored_us"], more["after_seq"]],
        "bound": more["bound_seq"],
        "horizon": more["bound_txid"],
    }
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def decode_more(token: str, store_id: str) -> GetRequest:
    try:
        state = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        (
            agent,
            verb,
            activity,
            registration,
            rel_agents,
            rel_activities,
            since,
            until,
            asc,
            limit,
        ) = state["f"]
        filt = StatementFilter(
            store_id=store_id,
            agent=agent,
            verb=verb,
            activity=activity,
            registration=registration,
            related_agents=bool(rel_agents),
            related_activities=bool(rel_activities),
            since_us=since,
            until_us=until,
            ascending=bool(asc),
            limit=int(limit),
            after_stored_us=int(state["after"][0]),
            after_seq=int(state["after"][1]),
            bound_seq=None if state["bound"] is None else int(state["bound"]),
            bound_txid=None if state["horizon"] is None else int(state["horizon"]),
        )
        return GetRequest(None, False, str(state["fmt"]), bool(state["att"]), filt)
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise BadRequest("invalid more token") from exc


def parse_body(body: bytes, content_type: str | None) -> tuple[Any, list[Part]]:
    """A statements body: JSON, or multipart/mixed with the JSON first and attachments after."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "multipart/mixed":
        parsed = parse_multipart_mixed(body, content_type or "")
        payload_bytes, parts = parsed.statements, list(parsed.parts)
    elif media == "application/json" or media == "":
        payload_bytes, parts = body, []
    else:
        raise BadRequest(
            f"Content-Type {media} is not accepted; use application/json or multipart/mixed"
        )
    try:
        payload = orjson.loads(payload_bytes)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(payload, (dict, list)):
        raise BadRequest("the body must be a statement object or an array of statements")
    return payload, parts
