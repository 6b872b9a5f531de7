"""The statement consumer's fold: actors seen, evidence kept, users re-evaluated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from learnproof_events.envelope import Event

from ..adapters.store import ActorSighting
from ..domain.actors import actor_key
from ..domain.compliance import Evidence, evidence_from_statement, parse_time
from .compliance import evaluate_users
from .reconciliation import link_unique
from .unit_of_work import Tx

STORED = "xapi.statement.stored"
VOIDED = "xapi.statement.voided"


@dataclass
class _Batch:
    """What a batch of statement events adds up to, written with a few statements per kind."""

    actors: dict[str, ActorSighting] = field(default_factory=dict)
    # Actor keys of stored statements, in order of first appearance (the order links are made).
    stored_keys: dict[str, None] = field(default_factory=dict)
    pending_evidence: list[tuple[str, Evidence]] = field(default_factory=list)
    # Keys whose evidence changed: new evidence stored, or evidence voided.
    changed_keys: set[str] = field(default_factory=set)


async def handle_statement_events(tx: Tx, events: Sequence[Event]) -> int:
    """Fold a batch of `xapi.statements.v1` events; returns compliance events published.

    Evidence is kept per actor even while the actor is unmatched, so a later link credits it.
    The users re-evaluated are those linked to an actor whose evidence changed, or whose actor
    was linked by this batch.
    """
    batch = _Batch()
    for event in events:
        if event.type == STORED:
            _stored(batch, event)
        elif event.type == VOIDED:
            await _voided(tx, batch, event)
    await _flush_evidence(tx, batch)
    await tx.store.record_actors(batch.actors)
    touched = await _link_and_collect(tx, batch)
    return await evaluate_users(tx, touched) if touched else 0


def _stored(batch: _Batch, event: Event) -> None:
    statement = event.data.get("statement") or {}
    actor = statement.get("actor") or {}
    key = actor_key(actor) or event.key
    moment = statement.get("timestamp") or statement.get("stored")
    at = parse_time(moment) if moment else event.time
    sighting = batch.actors.get(key)
    if sighting is None:
        batch.actors[key] = ActorSighting(actor, 1, at, at)
    else:
        sighting.count += 1
        sighting.last_seen = at
    batch.stored_keys[key] = None
    evidence = evidence_from_statement(statement)
    if evidence is not None:
        batch.pending_evidence.append((key, evidence))


async def _voided(tx: Tx, batch: _Batch, event: Event) -> None:
    # The statement voided may be one stored earlier in this batch: store that evidence first.
    await _flush_evidence(tx, batch)
    voided_id = str(event.data.get("voided_statement_id", ""))
    raw_at = event.data.get("voided_at")
    voided_at = parse_time(str(raw_at)) if raw_at else event.time
    key = await tx.store.void_evidence(voided_id, voided_at)
    if key is not None:
        batch.changed_keys.add(key)


async def _flush_evidence(tx: Tx, batch: _Batch) -> None:
    if batch.pending_evidence:
        batch.changed_keys.update(await tx.store.insert_new_evidence(batch.pending_evidence))
        batch.pending_evidence = []


async def _link_and_collect(tx: Tx, batch: _Batch) -> set[str]:
    """Link the batch's unlinked actors where exactly one user answers to them; returns the
    users whose evidence changed or who gained a link."""
    links = await tx.store.links_for(batch.stored_keys.keys() | batch.changed_keys)
    unlinked = [key for key in batch.stored_keys if key not in links]
    candidates = await tx.store.users_for_actor_keys(unlinked) if unlinked else {}
    touched: set[str] = set()
    for key in unlinked:
        link = await link_unique(tx, key, candidates[key])
        if link is not None:
            links[key] = link
            touched.add(link[0])
    touched.update(links[key][0] for key in batch.changed_keys if key in links)
    return touched
