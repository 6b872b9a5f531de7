"""The rows the LRS writes for a batch (statements, index, outbox), built with its own code."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from learnproof_events.envelope import encode_data
from learnproof_lrs.domain import statement as st
from learnproof_lrs.domain.auth import authority_for
from learnproof_lrs.domain.versions import V103
from learnproof_lrs.service_layer.credentials import AUTHORITY_HOME_PAGE

TOPIC = "xapi.statements.v1"
SOURCE = "/learnproof/lrs"

# Column order of the COPY / INSERT statements below (the LRS's tables).
STATEMENT_COLUMNS = (
    "seq",
    "store_id",
    "id",
    "stored_us",
    "txid",
    "credential_key",
    "voided",
    "voiding_target",
    "body",
)
INDEX_COLUMNS = ("store_id", "kind", "value", "seq", "is_primary", "stored_us")
OUTBOX_COLUMNS = ("txid", "event_id", "type", "source", "topic", "key", "subject", "time", "data")


@dataclass
class PreparedBatch:
    """One transaction's rows, with the seq numbers still to be filled in."""

    statements: list[list[Any]] = field(default_factory=list)
    index: list[tuple[int, list[Any]]] = field(default_factory=list)  # (position, row)
    outbox: list[list[Any]] = field(default_factory=list)
    void_earlier: list[str] = field(default_factory=list)  # targets stored by earlier batches


def now_ms() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class RowBuilder:
    """Turns raw statements into LRS rows via learnproof_lrs.domain.statement.prepare.

    Tracks ids and actor keys of the statements it built, so voiding statements mark their
    targets (in the batch: the `voided` column; earlier: an UPDATE) and emit `voided` events.
    """

    def __init__(self, store_id: str, credential_key: str, credential_name: str) -> None:
        self.store_id = store_id
        self.key = credential_key
        self.authority = authority_for(credential_key, credential_name, AUTHORITY_HOME_PAGE)
        self._actor_of: dict[str, str] = {}

    def build(self, raws: Sequence[dict[str, Any]], stored: datetime) -> PreparedBatch:
        out = PreparedBatch()
        stored_us = st.to_micros(stored)
        stored_text = st.format_stored(stored)
        prepared = [
            st.prepare(raw, request_version=V103, authority=self.authority, stored=stored)
            for raw in raws
        ]
        in_batch = {p.id for p in prepared}
        voided_here = {p.voiding_target for p in prepared if p.voiding_target in in_batch}
        store = self.store_id
        for position, p in enumerate(prepared):
            out.statements.append(
                [
                    None,  # seq, filled in by the loader
                    store,
                    p.id,
                    stored_us,
                    None,  # txid, filled in by the loader
                    self.key,
                    p.id in voided_here,
                    p.voiding_target,
                    orjson.dumps(p.body),
                ]
            )
            for kind, value, primary in st.collapse_index(p.index):
                out.index.append((position, [store, kind, value, None, primary, stored_us]))
            event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{store}/{p.id}/stored"))
            data = encode_data({"store": store, "statement": p.body}).decode()
            out.outbox.append(
                [
                    None,
                    event_id,
                    "xapi.statement.stored",
                    *(SOURCE, TOPIC, p.actor_key, p.id),
                    stored,
                    data,
                ]
            )
        for p in prepared:
            target = p.voiding_target
            if target is None:
                continue
            actor = self._actor_of.get(target)
            if target in in_batch:
                actor = next(q.actor_key for q in prepared if q.id == target)
            elif actor is not None:
                out.void_earlier.append(target)
            else:
                continue  # the target is unknown: nothing to void yet (the LRS waits for it)
            data = encode_data(
                {
                    "store": store,
                    "voided_statement_id": target,
                    "voiding_statement_id": p.id,
                    "voided_at": p.body.get("timestamp") or stored_text,
                }
            ).decode()
            event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{store}/{target}/voided"))
            out.outbox.append(
                [
                    None,
                    event_id,
                    "xapi.statement.voided",
                    *(SOURCE, TOPIC, actor, target),
                    stored,
                    data,
                ]
            )
        for p in prepared:
            self._actor_of[p.id] = p.actor_key
        # Voiding targets are recent statements: a bounded memory is enough.
        while len(self._actor_of) > 50_000:
            del self._actor_of[next(iter(self._actor_of))]
        return out
