"""The statement consumer's fold: actors seen, evidence kept, users re-evaluated."""

from __future__ import annotations

from collections.abc import Sequence

from learnproof_events.envelope import Event

from ..domain.actors import actor_key
from ..domain.compliance import evidence_from_statement, parse_time
from .compliance import evaluate_users
from .reconciliation import link_if_unique
from .unit_of_work import Tx

STORED = "xapi.statement.stored"
VOIDED = "xapi.statement.voided"


async def handle_statement_events(tx: Tx, events: Sequence[Event]) -> int:
    """Fold a batch of `xapi.statements.v1` events; returns compliance events published.

    Evidence is kept per actor even while the actor is unmatched, so a later link credits it.
    """
    touched: set[str] = set()
    for event in events:
        if event.type == STORED:
            user_id = await _stored(tx, event)
        elif event.type == VOIDED:
            user_id = await _voided(tx, event)
        else:
            user_id = None
        if user_id is not None:
            touched.add(user_id)
    return await evaluate_users(tx, touched) if touched else 0


async def _stored(tx: Tx, event: Event) -> str | None:
    statement = event.data.get("statement") or {}
    actor = statement.get("actor") or {}
    key = actor_key(actor) or event.key
    moment = statement.get("timestamp") or statement.get("stored")
    await tx.store.record_actor(key, actor, parse_time(moment) if moment else event.time)
    evidence = evidence_from_statement(statement)
    fresh = evidence is not None and await tx.store.insert_evidence(key, evidence)
    link = await tx.store.get_link(key)
    newly_linked = link is None and await link_if_unique(tx, key)
    if newly_linked:
        link = await tx.store.get_link(key)
    if link is None or not (fresh or newly_linked):
        return None
    return link[0]


async def _voided(tx: Tx, event: Event) -> str | None:
    voided_id = str(event.data.get("voided_statement_id", ""))
    raw_at = event.data.get("voided_at")
    voided_at = parse_time(str(raw_at)) if raw_at else event.time
    key = await tx.store.void_evidence(voided_id, voided_at)
    if key is None:
        return None
    link = await tx.store.get_link(key)
    return link[0] if link is not None else None
