"""Use cases of State, Activity Profile, Agent Profile, Activities and Agents."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from learnproof_lrs.adapters.db.documents_repo import DocumentRows, KnowledgeRows
from learnproof_lrs.adapters.db.engine import Database
from learnproof_lrs.domain import documents as dm
from learnproof_lrs.domain.auth import Principal
from learnproof_lrs.domain.errors import Conflict, Forbidden, NotFound
from learnproof_lrs.domain.statement import ifi_key

# A PUT / POST races a concurrent creator of the same new document at most once or twice; the
# bound only stops a pathological loop.
_WRITE_ATTEMPTS = 5
# Statements read to collect an agent's names for the Agents resource.
_NAME_SOURCES = 20


def require_scope(principal: Principal, kind: str, *, write: bool) -> None:
    if kind == dm.STATE:
        principal.require_state(write)
    else:
        principal.require_profile(write)


def require_read_definitions(principal: Principal) -> None:
    """Activities / Agents answer from statements: any credential that reads them may ask."""
    readers = ("statements/read", "statements/read/mine", "all/read", "profile", "define", "state")
    if not principal.has_any(*readers):
        raise Forbidden("this credential may not read activities or agents")


def _now_us() -> int:
    return time.time_ns() // 1000


async def get_document(
    db: Database, principal: Principal, key: dm.DocumentKey
) -> dm.StoredDocument:
    require_scope(principal, key.owner.kind, write=False)
    async with db.read() as conn:
        doc = await DocumentRows(conn).current(key)
    if doc is None:
        raise NotFound(f"no document {key.doc_id!r} here")
    return doc


@dataclass(frozen=True, slots=True)
class IdList:
    ids: list[str]
    last_modified_us: int | None


async def list_ids(
    db: Database, principal: Principal, owner: dm.DocumentSet, since_us: int | None
) -> IdList:
    require_scope(principal, owner.kind, write=False)
    async with db.read() as conn:
        rows = await DocumentRows(conn).ids(owner, since_us)
    return IdList([doc_id for doc_id, _ in rows], max((us for _, us in rows), default=None))


async def write_document(
    db: Database,
    principal: Principal,
    key: dm.DocumentKey,
    *,
    method: str,
    version: str,
    pre: dm.Preconditions,
    content_type: str,
    content: bytes,
) -> dm.StoredDocument:
    """PUT or POST one document: judge the request against the current version and write, in
    one transaction holding that version (row lock on PostgreSQL, the writer lock on SQLite).

    Two round trips per attempt (read, write). A new document created concurrently by another
    request makes the INSERT a no-op; the request is then judged again against that document.
    """
    require_scope(principal, key.owner.kind, write=True)
    for _ in range(_WRITE_ATTEMPTS):
        async with db.write() as conn:
            rows = DocumentRows(conn)
            current = await rows.current(key, for_update=True)
            new_type, new_content = dm.plan_write(
                method, key.owner.kind, version, pre, current, content_type, content
            )
            # Strictly increasing, so Last-Modified and `since` see every change.
            now = _now_us() if current is None else max(_now_us(), current.updated_us + 1)
            doc = dm.StoredDocument(new_type, new_content, dm.etag_of(new_content), now)
            if current is not None:
                await rows.update(key, doc)
                return doc
            if await rows.insert(key, doc):
                return doc
    raise Conflict("the document kept changing while this request was applied; retry")


async def delete_document(
    db: Database, principal: Principal, key: dm.DocumentKey, pre: dm.Preconditions
) -> None:
    require_scope(principal, key.owner.kind, write=True)
    async with db.write() as conn:
        rows = DocumentRows(conn)
        if pre.present:
            dm.check_preconditions(pre, await rows.current(key, for_update=True))
        await rows.delete(key)


async def delete_documents(db: Database, principal: Principal, owner: dm.DocumentSet) -> int:
    require_scope(principal, owner.kind, write=True)
    async with db.write() as conn:
        return await DocumentRows(conn).delete_set(owner)


async def get_activity(db: Database, principal: Principal, activity_id: str) -> dict[str, Any]:
    require_read_definitions(principal)
    async with db.read() as conn:
        definition = await KnowledgeRows(conn).definition(principal.store_id, activity_id)
    return dm.activity_object(activity_id, definition)


async def get_person(
    db: Database, principal: Principal, agent: Mapping[str, Any]
) -> dict[str, Any]:
    """The Person: the agent's identifiers and every name statements gave it (latest first)."""
    require_read_definitions(principal)
    key = ifi_key(agent) or ""
    async with db.read() as conn:
        bodies = await KnowledgeRows(conn).recent_bodies(principal.store_id, key, _NAME_SOURCES)
    names: list[str] = []
    for body in bodies:
        for node in _agents_in(orjson.loads(body)):
            name = node.get("name")
            if isinstance(name, str) and ifi_key(node) == key and name not in names:
                names.append(name)
    return dm.person(agent, names)


def _agents_in(statement: Any) -> list[dict[str, Any]]:
    """Agents a statement names where their `name` describes them: actor, object, context."""
    if not isinstance(statement, dict):
        return []
    found: list[dict[str, Any]] = []
    candidates: list[Any] = [statement.get("actor"), statement.get("object")]
    context = statement.get("context")
    if isinstance(context, dict):
        candidates += [context.get("instructor"), context.get("team")]
    for node in candidates:
        if isinstance(node, dict):
            found.append(node)
            members = node.get("member")
            if isinstance(members, list):
                found += [m for m in members if isinstance(m, dict)]
    return found
