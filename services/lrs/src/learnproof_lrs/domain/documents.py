"""Pure rules of the document resources: parameters, keys, ETags, JSON merge, preconditions."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from learnproof_lrs.domain.errors import (
    BadRequest,
    Conflict,
    InvalidStatement,
    PreconditionFailed,
)
from learnproof_lrs.domain.statement import ifi_key, to_micros
from learnproof_lrs.domain.validation import is_iri, is_uuid, parse_timestamp, validate_agent
from learnproof_lrs.domain.versions import V103

STATE = "state"
ACTIVITY_PROFILE = "activity_profile"
AGENT_PROFILE = "agent_profile"
KINDS = (STATE, ACTIVITY_PROFILE, AGENT_PROFILE)

# The parameter naming the one document, per kind.
ID_PARAM = {STATE: "stateId", ACTIVITY_PROFILE: "profileId", AGENT_PROFILE: "profileId"}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
JSON_TYPE = "application/json"
MAX_CONTENT_TYPE = 255

# Parameters each method accepts (xAPI 1.0.3 Communication 2.3 / 2.6 / 2.7, xAPI 2.0 4.1.6.x);
# anything else is answered with 400 rather than silently ignored.
_ALLOWED: dict[str, dict[str, frozenset[str]]] = {
    STATE: {
        "PUT": frozenset({"activityId", "agent", "registration", "stateId"}),
        "POST": frozenset({"activityId", "agent", "registration", "stateId"}),
        "GET": frozenset({"activityId", "agent", "registration", "stateId", "since"}),
        "DELETE": frozenset({"activityId", "agent", "registration", "stateId"}),
    },
    ACTIVITY_PROFILE: {
        "PUT": frozenset({"activityId", "profileId"}),
        "POST": frozenset({"activityId", "profileId"}),
        "GET": frozenset({"activityId", "profileId", "since"}),
        "DELETE": frozenset({"activityId", "profileId"}),
    },
    AGENT_PROFILE: {
        "PUT": frozenset({"agent", "profileId"}),
        "POST": frozenset({"agent", "profileId"}),
        "GET": frozenset({"agent", "profileId", "since"}),
        "DELETE": frozenset({"agent", "profileId"}),
    },
}


def _sha256(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DocumentSet:
    """The documents of one owner: a State (activity + agent) or a profile's activity / agent.

    `registration` is "" for "no registration"; None (State GET / DELETE of many only) means
    "whatever the registration".
    """

    store_id: str
    kind: str
    activity_id: str = ""
    agent_key: str = ""
    registration: str | None = ""

    @property
    def owner_hash(self) -> str:
        return _sha256(self.kind, self.activity_id, self.agent_key)


@dataclass(frozen=True, slots=True)
class DocumentKey:
    """One document: its owner, its registration ("" for none) and its id."""

    owner: DocumentSet
    registration: str
    doc_id: str

    @property
    def doc_hash(self) -> str:
        return _sha256(self.doc_id)


@dataclass(frozen=True, slots=True)
class DocumentRequest:
    """A document request's parameters, validated: one document (`key`) or a set (`since_us`)."""

    owner: DocumentSet
    key: DocumentKey | None
    since_us: int | None = None


@dataclass(frozen=True, slots=True)
class StoredDocument:
    content_type: str
    content: bytes
    etag: str  # 40 hex digits, unquoted
    updated_us: int


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
def parse_agent(text: str | None, version: str, name: str = "agent") -> dict[str, Any]:
    """The `agent` query parameter: JSON, a valid Agent (or identified Group), else 400."""
    if text is None:
        raise BadRequest(f"the {name} parameter is required")
    try:
        agent = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"{name}: not valid JSON ({exc})") from None
    if not isinstance(agent, dict):
        raise BadRequest(f"{name}: must be a JSON object (an Agent)")
    validate_agent(agent, version, name)
    if ifi_key(agent) is None:
        raise InvalidStatement(name, "must be identified by mbox, mbox_sha1sum, openid or account")
    return agent


def parse_activity_id(text: str | None) -> str:
    if text is None:
        raise BadRequest("the activityId parameter is required")
    if not is_iri(text):
        raise BadRequest(f"activityId: {text!r} is not an IRI")
    return text


def parse_since(text: str, version: str) -> int:
    try:
        moment: datetime = parse_timestamp(text, version)
    except ValueError as exc:
        raise BadRequest(f"since: {text!r} is not a timestamp ({exc})") from None
    return to_micros(moment)


def parse_request(
    kind: str, method: str, params: Mapping[str, str], store_id: str, version: str
) -> DocumentRequest:
    """Validate the query of a document request; which parameters are required depends on
    the method (PUT / POST always address one document; GET / DELETE may address a set)."""
    method = "GET" if method == "HEAD" else method
    unknown = set(params) - _ALLOWED[kind][method]
    if unknown:
        raise BadRequest(f"unknown parameters: {', '.join(sorted(unknown))}")
    activity_id = agent_key = ""
    if kind in (STATE, ACTIVITY_PROFILE):
        activity_id = parse_activity_id(params.get("activityId"))
    if kind in (STATE, AGENT_PROFILE):
        agent_key = ifi_key(parse_agent(params.get("agent"), version)) or ""
    registration: str | None = None if kind == STATE else ""
    if "registration" in params:
        value = params["registration"]
        if not is_uuid(value):
            raise BadRequest(f"registration: {value!r} is not a UUID")
        registration = value.lower()
    id_param = ID_PARAM[kind]
    doc_id = params.get(id_param)
    if doc_id is None and method in ("PUT", "POST"):
        raise BadRequest(f"the {id_param} parameter is required")
    owner = DocumentSet(store_id, kind, activity_id, agent_key, registration)
    if doc_id is not None:
        key = DocumentKey(owner, registration or "", doc_id)
        return DocumentRequest(owner, key)
    since = params.get("since")
    return DocumentRequest(owner, None, parse_since(since, version) if since is not None else None)


# --------------------------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------------------------
def etag_of(content: bytes) -> str:
    """The document's entity tag: the SHA-1 of its bytes in hex (quoted on the wire)."""
    return hashlib.sha1(content).hexdigest()


def quoted(etag: str) -> str:
    return f'"{etag}"'


def normalise_content_type(value: str | None) -> str:
    if value is None or not value.strip():
        return DEFAULT_CONTENT_TYPE
    value = value.strip()
    if len(value) > MAX_CONTENT_TYPE:
        raise BadRequest(f"Content-Type is longer than {MAX_CONTENT_TYPE} characters")
    return value


def is_json_type(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON_TYPE


def json_object(content: bytes, what: str) -> dict[str, Any]:
    """Parse a JSON document that must be an object (merges and JSON POSTs), else 400."""
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"{what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise BadRequest(f"{what} is not a JSON object")
    return value


def merge(current: StoredDocument, content_type: str, content: bytes) -> tuple[str, bytes]:
    """POST onto an existing document: merge top-level properties when both are JSON objects.

    Values of the posted object replace those of the stored one, whole (one level deep).
    Either side not JSON → 400, and nothing is written.
    """
    if not is_json_type(content_type):
        raise BadRequest(
            "the document exists as application/json; a POST must be an application/json "
            f"object to merge into it, not {content_type}"
            if is_json_type(current.content_type)
            else "POST merges JSON objects only; neither this document nor the posted one is "
            "application/json"
        )
    posted = json_object(content, "the posted document")
    if not is_json_type(current.content_type):
        raise BadRequest(
            f"the stored document is {current.content_type}, not application/json: "
            "a JSON POST cannot be merged into it"
        )
    stored = json_object(current.content, "the stored document")
    stored.update(posted)
    return JSON_TYPE, orjson.dumps(stored)


# --------------------------------------------------------------------------------------------
# Preconditions (RFC 7232 / RFC 2616 as xAPI uses them)
# --------------------------------------------------------------------------------------------
def parse_etags(header: str | None) -> frozenset[str] | None:
    """An If-Match / If-None-Match header as a set of bare tags ("*" stays "*"); None if absent.

    Weak tags (W/"..") compare by their value; unquoted tags are tolerated.
    """
    if header is None:
        return None
    tags = set()
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"').strip().lower()
        if tag:
            tags.add(tag)
    return frozenset(tags)


@dataclass(frozen=True, slots=True)
class Preconditions:
    if_match: frozenset[str] | None = None
    if_none_match: frozenset[str] | None = None

    @classmethod
    def from_headers(cls, if_match: str | None, if_none_match: str | None) -> Preconditions:
        return cls(parse_etags(if_match), parse_etags(if_none_match))

    @property
    def present(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None

    def not_modified(self, etag: str) -> bool:
        """GET with If-None-Match naming the current tag (or *): answer 304."""
        return self.if_none_match is not None and (
            "*" in self.if_none_match or etag in self.if_none_match
        )


def check_preconditions(pre: Preconditions, current: StoredDocument | None) -> None:
    """412 when If-Match / If-None-Match does not hold for the document as it is now."""
    if pre.if_match is not None and (
        current is None or ("*" not in pre.if_match and current.etag not in pre.if_match)
    ):
        raise PreconditionFailed(
            "If-Match: the document does not exist"
            if current is None
            else "If-Match: the document has changed (its ETag differs)"
        )
    if (
        pre.if_none_match is not None
        and current is not None
        and ("*" in pre.if_none_match or current.etag in pre.if_none_match)
    ):
        raise PreconditionFailed("If-None-Match: the document already exists")


def check_put(kind: str, version: str, pre: Preconditions, current: StoredDocument | None) -> None:
    """The rules of an unconditional PUT, after `check_preconditions`.

    2.0 (all three resources) and 1.0.3 (the two profile resources): a PUT without If-Match /
    If-None-Match over an existing document is a lost-update risk → 409. 1.0.3 profiles also
    demand a precondition when the document is new (the conformance suite's XAPI-00273 and
    the 1.0.3 profile tests expect 400); 1.0.3 State needs none.
    """
    if pre.present:
        return
    profile = kind != STATE
    if current is not None and (version != V103 or profile):
        raise Conflict(
            "the document exists: send If-Match with its ETag (or If-None-Match: *) to "
            "overwrite it without losing someone else's change"
        )
    if current is None and version == V103 and profile:
        raise BadRequest(
            "a PUT to a profile resource needs If-Match or If-None-Match (xAPI 1.0.3 "
            "Communication 3.1): send If-None-Match: * to create the document"
        )


def plan_write(
    method: str,
    kind: str,
    version: str,
    pre: Preconditions,
    current: StoredDocument | None,
    content_type: str,
    content: bytes,
) -> tuple[str, bytes]:
    """Decide what a PUT / POST stores given the current document: (Content-Type, bytes).

    Raises 412 / 409 / 400 instead when the request must not write.
    """
    check_preconditions(pre, current)
    if method == "PUT":
        check_put(kind, version, pre, current)
        return content_type, content
    if current is None:
        # A POST of a new document is a PUT, but JSON must then be an object (XAPI-00314).
        if is_json_type(content_type):
            json_object(content, "the posted document")
        return content_type, content
    return merge(current, content_type, content)


def person(agent: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    """The Person object of the Agents resource: every identifier and name known, as arrays."""
    result: dict[str, Any] = {"objectType": "Person"}
    all_names = [agent["name"]] if isinstance(agent.get("name"), str) else []
    all_names += [n for n in names if n not in all_names]
    if all_names:
        result["name"] = all_names
    for prop in ("mbox", "mbox_sha1sum", "openid", "account"):
        if prop in agent:
            result[prop] = [agent[prop]]
    return result


def activity_object(activity_id: str, definition: Mapping[str, Any] | None) -> dict[str, Any]:
    """The Activities resource's answer; an unknown activity still gets an Activity (2.0)."""
    result: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition:
        result["definition"] = dict(definition)
    return result
