"""Use cases of the Statements resource: store a batch, fetch one, run a query."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from learnproof_events.envelope import Event
from learnproof_lrs.adapters.db.engine import Database
from learnproof_lrs.adapters.db.statements_repo import (
    Lookup,
    NewRows,
    StatementFilter,
    StatementReads,
    StatementWrites,
    StoredRow,
)
from learnproof_lrs.domain import statement as st
from learnproof_lrs.domain.attachments import match_attachments
from learnproof_lrs.domain.auth import Principal
from learnproof_lrs.domain.equivalence import statements_equivalent
from learnproof_lrs.domain.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from learnproof_lrs.domain.multipart import Part
from learnproof_lrs.domain.signature import verify_signed_statement
from learnproof_lrs.domain.validation import parse_timestamp, validate_statement
from learnproof_lrs.domain.versions import V200

TOPIC = "xapi.statements.v1"
SOURCE = "/learnproof/lrs"


@dataclass(slots=True)
class StoreResult:
    ids: list[str]


def _now() -> datetime:
    """Now, at the millisecond precision `stored` is written with (so `since` compares exactly)."""
    return _millis(datetime.now(UTC))


def _millis(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def _touched_ids(batch: Sequence[Any]) -> list[str]:
    """Statement ids a write must hold: its own and its voiding targets (see statements_repo)."""
    ids = [str(raw["id"]).lower() for raw in batch if "id" in raw]
    ids += [
        str(raw["object"]["id"]).lower()
        for raw in batch
        if raw["verb"]["id"] == st.VOIDED_VERB and "id" in raw["object"]
    ]
    return ids


def _utc_timestamp(value: str, version: str) -> str:
    """2.0 keeps timestamps in UTC: an offset other than Z is converted, precision kept."""
    if version != V200 or value.endswith("Z") or value.endswith("+00:00"):
        return value
    moment = parse_timestamp(value, version).astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if "." in value:
        text += "." + f"{moment.microsecond:06d}".rstrip("0").ljust(3, "0")
    return text + "Z"


async def store_statements(
    db: Database,
    principal: Principal,
    payload: Any,
    version: str,
    parts: Sequence[Part] = (),
    *,
    put_id: str | None = None,
    coalescer: WriteCoalescer | None = None,
) -> StoreResult:
    """Validate and store one statement or a batch, all-or-nothing, with their outbox events.

    With a `coalescer`, the write may share a transaction with concurrent requests of the same
    credential (group commit, see WriteCoalescer); the answer and its all-or-nothing meaning
    are the same."""
    batch, by_sha = _checked_batch(principal, payload, version, parts, put_id)
    if coalescer is not None and not parts:
        return StoreResult(ids=await coalescer.write(principal, batch, version))
    return StoreResult(ids=await _write_batch(db, principal, batch, version, by_sha))


def _checked_batch(
    principal: Principal,
    payload: Any,
    version: str,
    parts: Sequence[Part],
    put_id: str | None,
) -> tuple[list[Any], dict[str, Part]]:
    """Everything that can be refused without the database; the batch and its attachments."""
    principal.require_statement_write()
    batch: list[Any] = payload if isinstance(payload, list) else [payload]
    if isinstance(payload, list) and put_id is not None:
        raise BadRequest("PUT takes a single statement, not an array")
    if not batch:
        raise BadRequest("no statements in the request")
    for raw in batch:
        validate_statement(raw, version)
        if put_id is not None:
            if "id" in raw and str(raw["id"]).lower() != put_id:
                raise BadRequest("statementId parameter and the statement's id differ")
            raw["id"] = put_id
    _refuse_repeated_ids(batch)
    by_sha = match_attachments(batch, list(parts))
    for raw in batch:
        verify_signed_statement(raw, by_sha, version=version)
    return batch, by_sha


def _refuse_repeated_ids(batch: Sequence[Any]) -> None:
    seen: set[str] = set()
    for raw in batch:
        if "id" in raw:
            sid = str(raw["id"]).lower()
            if sid in seen:
                raise BadRequest(f"statement id {sid} appears twice in the batch")
            seen.add(sid)


async def _write_batch(
    db: Database,
    principal: Principal,
    batch: list[Any],
    version: str,
    by_sha: Mapping[str, Part],
) -> list[str]:
    """One transaction: store the checked batch's new statements; their ids in batch order."""
    async with db.write() as conn:
        writes = StatementWrites(conn)
        txid, db_now = await writes.begin(_touched_ids(batch))
        stored = _millis(db_now) if db_now is not None else _now()
        prepared = [
            st.prepare(
                raw,
                request_version=version,
                authority=principal.authority,
                stored=stored,
                timestamp=_utc_timestamp(raw["timestamp"], version) if "timestamp" in raw else None,
            )
            for raw in batch
        ]
        # One lookup for everything the write depends on. Only ids the client chose can already
        # be stored or voided: an id the LRS generates now is known to nobody yet.
        client_ids = [p.id for p, raw in zip(prepared, batch, strict=True) if "id" in raw]
        referenced = {p.voiding_target for p in prepared if p.voiding_target} | {
            p.statement_ref for p in prepared if p.statement_ref
        }
        activity_ids = (
            [aid for p in prepared for aid, _ in p.activity_definitions]
            if principal.may_define()
            else []
        )
        found = await writes.lookup(
            principal.store_id, client_ids + sorted(referenced), client_ids, activity_ids
        )
        known = found.statements
        existing = {p.id: known[p.id] for p in prepared if p.id in known}
        fresh: list[st.PreparedStatement] = []
        for p, raw in zip(prepared, batch, strict=True):
            old = existing.get(p.id)
            if old is None:
                fresh.append(p)
            elif not statements_equivalent(raw, old.body, version=version):
                raise Conflict(f"statement {p.id} already exists with different content")
        if fresh:
            stored_refs = {sid: known[sid] for sid in referenced if sid in known}
            await _write_fresh(writes, principal, fresh, stored, by_sha, txid, stored_refs, found)
    return [p.id for p in prepared]


@dataclass(slots=True)
class _Pending:
    principal: Principal
    batch: list[Any]
    version: str
    future: asyncio.Future[list[str]]

    def settle(self, ids: list[str] | None = None, error: BaseException | None = None) -> None:
        if self.future.done():  # the request went away (client disconnect)
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(ids or [])


class WriteCoalescer:
    """Group commit for statement writes, per credential and xAPI version.

    Up to `parallel` transactions of one kind run at once; a write that finds one free starts
    at once (no added latency). Writes that arrive while all are busy queue, and the next free
    transaction takes all of them (up to `max_statements`) as one batch: one lock round trip,
    one lookup, one multi-table INSERT and one commit for many requests, instead of each. Every
    request is still answered only after its statements committed. If the combined batch fails
    because of what one member sent (400 or 409: a voiding error, a conflicting id, two requests
    with one id), nothing of it was written and each request of the group runs again on its
    own, so each gets exactly the answer it would have had alone. Any other failure (a statement
    timeout, the database gone) is not about content and is every member's answer (503).
    Requests with attachment parts always run on their own.
    """

    def __init__(self, db: Database, max_statements: int = 250, parallel: int = 4) -> None:
        self.db = db
        self.max_statements = max_statements
        self.parallel = parallel
        self._queues: dict[tuple[str, str], list[_Pending]] = {}
        self._drainers: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.transactions = 0  # for tests and metrics: transactions run

    async def write(self, principal: Principal, batch: list[Any], version: str) -> list[str]:
        key = (principal.key, version)
        pending = _Pending(principal, batch, version, asyncio.get_running_loop().create_future())
        self._queues.setdefault(key, []).append(pending)
        if self._drainers.get(key, 0) < self.parallel:
            self._drainers[key] = self._drainers.get(key, 0) + 1
            task = asyncio.create_task(self._drain(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await pending.future

    async def _drain(self, key: tuple[str, str]) -> None:
        group: list[_Pending] = []
        try:
            while queue := self._queues.get(key):
                group = self._take(queue)
                if group:
                    await self._flush(group)
                group = []
        except BaseException:
            # Interrupted (shutting down): the outcome of the group in flight is unknown.
            for p in group:
                p.settle(error=ServiceUnavailable("the write was interrupted; retry"))
            raise
        finally:
            # No await since the loop saw the queue empty: nothing can have been added.
            self._drainers[key] -= 1
            if not self._drainers[key]:
                del self._drainers[key]
                for p in self._queues.pop(key, []):  # only when interrupted
                    p.settle(error=ServiceUnavailable("the server is stopping; retry"))

    def _take(self, queue: list[_Pending]) -> list[_Pending]:
        """The next group: queued writes in order, up to `max_statements` (at least one)."""
        group: list[_Pending] = []
        size = 0
        while queue:
            head = queue[0]
            if head.future.done():  # its request went away before the write began
                queue.pop(0)
                continue
            if group and size + len(head.batch) > self.max_statements:
                break
            group.append(queue.pop(0))
            size += len(head.batch)
        return group

    async def _flush(self, group: list[_Pending]) -> None:
        if len(group) > 1:
            combined = [raw for p in group for raw in p.batch]
            try:
                _refuse_repeated_ids(combined)
                ids = await _write_batch(
                    self.db, group[0].principal, combined, group[0].version, {}
                )
            except (BadRequest, Conflict):
                pass  # caused by one member's content: each runs again on its own, below
            except Exception as exc:
                # Not about the content (a timeout, the database gone): the same for everyone.
                for p in group:
                    p.settle(error=exc)
                return
            else:
                self.transactions += 1
                offset = 0
                for p in group:
                    p.settle(ids[offset : offset + len(p.batch)])
                    offset += len(p.batch)
                return
        for p in group:
            try:
                ids = await _write_batch(self.db, p.principal, p.batch, p.version, {})
            except Exception as exc:
                p.settle(error=exc)  # the request's own error, answered to it
            else:
                self.transactions += 1
                p.settle(ids)


async def _write_fresh(
    writes: StatementWrites,
    principal: Principal,
    fresh: list[st.PreparedStatement],
    stored: datetime,
    by_sha: Mapping[str, Part],
    txid: int,
    stored_refs: Mapping[str, StoredRow],
    found: Lookup,
) -> None:
    store = principal.store_id
    batch_by_id = {p.id: p for p in fresh}
    # Voiding statements already stored whose target arrives now.
    earlier_voiders = {t: v for t, v in found.voiders.items() if t in batch_by_id}

    to_void: dict[str, str] = {}  # voided id -> voiding id
    for p in fresh:
        target = p.voiding_target
        if target is None:
            continue
        ref = stored_refs.get(target)
        in_batch = batch_by_id.get(target)
        if (ref is not None and ref.voiding_target is not None) or (
            in_batch is not None and in_batch.voiding_target is not None
        ):
            raise BadRequest(f"statement {target} is a voiding statement and cannot be voided")
        if ref is not None or in_batch is not None:
            to_void[target] = p.id
    for sid, voider in earlier_voiders.items():
        if batch_by_id[sid].voiding_target is None:
            to_void.setdefault(sid, voider)

    # A statement that targets another (StatementRef) matches the filters its target matches.
    ref_index = await writes.index_of(store, [r.seq for r in stored_refs.values()])
    index: list[tuple[str, str, str, bool]] = []
    for p in fresh:
        own = list(p.index)
        if p.statement_ref is not None:
            target_row = stored_refs.get(p.statement_ref)
            if target_row is not None:
                own.extend(ref_index.get(target_row.seq, []))
            elif p.statement_ref in batch_by_id:
                own.extend(batch_by_id[p.statement_ref].index)
        index.extend((p.id, k, v, primary) for k, v, primary in st.collapse_index(own))
    await writes.save_attachments(store, _attachment_rows(fresh, by_sha))
    # Each body is serialised once: the stored row and the outbox event carry the same bytes.
    bodies = [orjson.dumps(p.body) for p in fresh]
    await writes.insert(
        NewRows(
            store_id=store,
            txid=txid,
            stored_us=st.to_micros(stored),
            credential_key=principal.key,
            statements=[
                (p.id, p.id in to_void, p.voiding_target, body)
                for p, body in zip(fresh, bodies, strict=True)
            ],
            index=index,
            void=sorted(t for t in to_void if t not in batch_by_id),
            definitions=await _definitions_to_write(writes, store, fresh, found)
            if principal.may_define()
            else {},
            events=_events(store, fresh, bodies, stored_refs, to_void, stored),
        )
    )


def _attachment_rows(
    fresh: Sequence[st.PreparedStatement], by_sha: Mapping[str, Part]
) -> list[tuple[str, str, bytes]]:
    """(sha2, content type, octets) of every attachment sent as a part."""
    rows = []
    for p in fresh:
        for attachment in p.body.get("attachments") or ():
            part = by_sha.get(attachment.get("sha2", ""))
            if part is not None:
                rows.append((attachment["sha2"], attachment["contentType"], part.data))
    return rows


async def _definitions_to_write(
    writes: StatementWrites, store: str, fresh: list[st.PreparedStatement], found: Lookup
) -> dict[str, bytes]:
    """The canonical definitions this batch changes. They were read without a lock; when the
    batch does change some, lock those and merge again from what is stored now, so two writers
    changing one definition at once cannot lose either's contribution. Unchanged definitions
    (the common case once an activity is known) cost no lock."""
    changed = _merged_definitions(found.definitions, fresh)
    if changed and writes.pg:
        current = await writes.lock_definitions(store, changed.keys())
        changed = _merged_definitions({**found.definitions, **current}, fresh)
    return changed


def _merged_definitions(
    known: Mapping[str, dict[str, Any]], fresh: list[st.PreparedStatement]
) -> dict[str, bytes]:
    """The canonical definitions this batch changes (activity id -> merged JSON)."""
    merged = dict(known)
    for p in fresh:
        for aid, definition in p.activity_definitions:
            merged[aid] = st.merge_definition(merged.get(aid, {}), definition)
    return {aid: orjson.dumps(d) for aid, d in merged.items() if known.get(aid) != d}


def _events(
    store: str,
    fresh: list[st.PreparedStatement],
    bodies: list[bytes],
    stored_refs: Mapping[str, StoredRow],
    to_void: Mapping[str, str],
    stored: datetime,
) -> list[Event]:
    events: list[Event] = []
    by_id = {p.id: p for p in fresh}
    for p, body in zip(fresh, bodies, strict=True):
        events.append(
            Event(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{store}/{p.id}/stored")),
                type="xapi.statement.stored",
                source=SOURCE,
                topic=TOPIC,
                key=p.actor_key,
                time=stored,
                # The stored bytes as they are (orjson writes a Fragment verbatim).
                data={"store": store, "statement": orjson.Fragment(body)},
                subject=p.id,
            )
        )
    for voided_id, voiding_id in to_void.items():
        voided = by_id.get(voided_id)
        actor = (
            voided.actor_key
            if voided is not None
            else st.actor_key(stored_refs[voided_id].body["actor"])
        )
        voider = by_id.get(voiding_id)
        voided_at = voider.body["timestamp"] if voider is not None else None
        events.append(
            Event(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{store}/{voided_id}/voided")),
                type="xapi.statement.voided",
                source=SOURCE,
                topic=TOPIC,
                key=actor,
                time=stored,
                data={
                    "store": store,
                    "voided_statement_id": voided_id,
                    "voiding_statement_id": voiding_id,
                    "voided_at": voided_at or st.format_stored(stored),
                },
                subject=voided_id,
            )
        )
    return events


# --- reads ----------------------------------------------------------------------------------


@dataclass(slots=True)
class JoinedStatements:
    """A page whose statements are one JSON fragment (the stored bytes, comma-joined)."""

    joined: bytes
    newest_us: int | None  # the newest `stored` on the page
    more: dict[str, Any] | None
    through: datetime  # X-Experience-API-Consistent-Through


@dataclass(slots=True)
class Page:
    rows: list[StoredRow]
    more: dict[str, Any] | None
    through: datetime  # X-Experience-API-Consistent-Through
    attachments: dict[str, tuple[str, bytes]] = field(default_factory=dict)


async def get_statement(
    db: Database, principal: Principal, statement_id: str, *, voided: bool, with_attachments: bool
) -> tuple[StoredRow, dict[str, tuple[str, bytes]], datetime]:
    """GET by statementId (not voided) or voidedStatementId (voided only); with the
    Consistent-Through time (read first, on the same connection)."""
    mode = principal.statement_read_mode()
    async with db.read() as conn:
        reads = StatementReads(conn)
        through = await _consistent_through(db, reads)
        row = await reads.by_id(principal.store_id, statement_id.lower())
        if (
            row is None
            or row.voided != voided
            or (mode == "mine" and row.credential_key != principal.key)
        ):
            what = "voided statement" if voided else "statement"
            raise NotFound(f"no {what} with id {statement_id}")
        files: dict[str, tuple[str, bytes]] = {}
        if with_attachments:
            files = await reads.attachment_contents(principal.store_id, _shas(row.body))
    return row, files, through


def _shas(body: Mapping[str, Any]) -> list[str]:
    return [a["sha2"] for a in body.get("attachments") or () if "sha2" in a]


async def query_statements(
    db: Database,
    principal: Principal,
    query: StatementFilter,
    *,
    with_attachments: bool,
) -> Page:
    """One page of a statement query; `more` carries the cursor and the snapshot bound."""
    query = _readable(query, principal)
    async with db.read() as conn:
        reads = StatementReads(conn)
        # Before the query: a statement stored up to this time is visible to it.
        through = await _consistent_through(db, reads)
        query = await _bounded(query, principal, reads)
        # PostgreSQL: the first page computes its horizon in the same statement.
        rows, horizon = await reads.query(_replace(query, limit=query.limit + 1))
        if horizon is not None:
            query = _replace(query, bound_txid=horizon)
        files: dict[str, tuple[str, bytes]] = {}
        if with_attachments:
            files = await reads.attachment_contents(
                principal.store_id, [sha for r in rows[: query.limit] for sha in _shas(r.body)]
            )
    more = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        more = _more(query, rows[-1].stored_us, rows[-1].seq)
    return Page(rows=rows, more=more, through=through, attachments=files)


async def query_statements_joined(
    db: Database, principal: Principal, query: StatementFilter
) -> JoinedStatements:
    """The same page as `query_statements`, for an `exact` answer without attachments: the
    stored statements come back already joined into one JSON fragment (see
    StatementReads.query_joined), never parsed or re-encoded."""
    query = _readable(query, principal)
    async with db.read() as conn:
        reads = StatementReads(conn)
        through = await _consistent_through(db, reads)
        query = await _bounded(query, principal, reads)
        page = await reads.query_joined(_replace(query, limit=query.limit + 1), query.limit)
    if page.horizon is not None:
        query = _replace(query, bound_txid=page.horizon)
    more = _more(query, *page.last) if page.last is not None else None
    return JoinedStatements(
        joined=page.joined, newest_us=page.newest_us, more=more, through=through
    )


def _readable(query: StatementFilter, principal: Principal) -> StatementFilter:
    """The filter as this credential may read: only its own statements under `mine`."""
    if principal.statement_read_mode() == "mine":
        return _replace(query, credential_key=principal.key)
    return query


async def _bounded(
    query: StatementFilter, principal: Principal, reads: StatementReads
) -> StatementFilter:
    """SQLite: a first page is bounded by the newest seq it can see (PostgreSQL computes its
    horizon inside the query)."""
    if query.bound_seq is None and query.bound_txid is None and not reads.pg:
        last = await reads.last_seq(principal.store_id)
        return _replace(query, bound_seq=last[0] if last is not None else 0)
    return query


def _more(query: StatementFilter, after_stored_us: int, after_seq: int) -> dict[str, Any]:
    return {
        "after_seq": after_seq,
        "after_stored_us": after_stored_us,
        "bound_seq": query.bound_seq,
        "bound_txid": query.bound_txid,
    }


async def consistent_through(db: Database, principal: Principal) -> datetime:
    """The X-Experience-API-Consistent-Through time for this store (see _consistent_through)."""
    reused = _reusable_reading(db)
    if reused is not None:
        return reused
    async with db.read() as conn:
        return await _consistent_through(db, StatementReads(conn))


async def _consistent_through(db: Database, reads: StatementReads) -> datetime:
    """A time up to which every statement is visible to queries.

    PostgreSQL: the database clock, held back to the start of the oldest writing transaction
    (see StatementReads.consistent_through). SQLite: `now`, or while this process's single
    writer is busy, the moment it began.
    """
    if reads.pg:
        # A reading stays valid for every later query: it was taken before their snapshots,
        # and what was visible then stays visible. Reusing it for `through_max_age` seconds
        # saves most GETs a round trip (and the database a pg_stat_activity scan); the header
        # is then up to that much older than a fresh reading would be.
        reused = _reusable_reading(db)
        if reused is not None:
            return reused
        asked = time.monotonic()
        through = await reads.consistent_through()
        assert through is not None
        value = _millis(through - timedelta(milliseconds=1))
        previous = db.through_reading  # another request may have refreshed it meanwhile
        if previous is not None and previous[1] > value:
            return previous[1]
        db.through_reading = (asked, value)
        return value
    started = db.write_started
    return _now() if started is None else _millis(started - timedelta(milliseconds=1))


def _reusable_reading(db: Database) -> datetime | None:
    """PostgreSQL: the last Consistent-Through reading while it is younger than its max age
    (SQLite never stores one)."""
    reading = db.through_reading
    if reading is not None and time.monotonic() - reading[0] < db.through_max_age:
        return reading[1]
    return None


def _replace(f: StatementFilter, **changes: Any) -> StatementFilter:
    values = {name: getattr(f, name) for name in f.__dataclass_fields__}
    values.update(changes)
    return StatementFilter(**values)
