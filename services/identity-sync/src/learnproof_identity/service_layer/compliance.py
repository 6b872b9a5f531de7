"""Compliance use cases: evaluate a user against every requirement and entitlement, and tick."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..adapters.store import ResourceRow, StateRow
from ..domain import scim
from ..domain.compliance import (
    Evidence,
    Snapshot,
    Subject,
    Transition,
    decide_entitlement,
    evaluate,
    transitions,
)
from ..domain.directory import user_from_document
from ..domain.requirements import Requirement
from .catalog import Catalog, load_catalog
from .unit_of_work import ENTITLEMENT_TOPIC, STATUS_TOPIC, Tx

# Users whose facts are read together (one query per kind of fact and chunk).
_CHUNK = 500


@dataclass(frozen=True)
class Facts:
    """What evaluating one user reads: their row (None: gone), groups, states, evidence, grants.

    Groups and evidence are read only when there are requirements, grants only when there are
    entitlements: nothing else looks at them.
    """

    row: ResourceRow | None
    groups: list[tuple[str, str]] = field(default_factory=list)
    states: dict[str, StateRow] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    grants: dict[str, list[str]] = field(default_factory=dict)


async def evaluate_users(tx: Tx, user_ids: Iterable[str], catalog: Catalog | None = None) -> int:
    """Re-evaluate several users; returns how many events were published."""
    catalog = catalog or await load_catalog(tx)
    before = len(tx.events)
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        facts = await _read_facts(tx, chunk, catalog)
        for user_id in chunk:
            await _evaluate(tx, user_id, catalog, facts[user_id])
    return len(tx.events) - before


async def evaluate_written_user(
    tx: Tx, row: ResourceRow, groups: list[tuple[str, str]], *, created: bool, linked: bool
) -> None:
    """Evaluate a user whose row this transaction has just written (and so holds locked).

    A user `created` in this transaction has no state or grants yet, and evidence only when
    actors were `linked` to them in it.
    """
    catalog = await load_catalog(tx)
    wants_evidence = bool(catalog.requirements) and (linked or not created)
    facts = Facts(
        row,
        groups,
        {} if created else await tx.store.states_of(row.id),
        await tx.store.evidence_of_user(row.id) if wants_evidence else [],
        await tx.store.grants_of(row.id) if catalog.entitlements and not created else {},
    )
    await _evaluate(tx, row.id, catalog, facts)


async def _read_facts(tx: Tx, user_ids: list[str], catalog: Catalog) -> dict[str, Facts]:
    # The row locks come first: they serialise evaluations of a user across replicas.
    rows = await tx.store.lock_users(user_ids)
    present = [u for u in user_ids if u in rows]
    groups = await tx.store.groups_of_users(present) if catalog.requirements else {}
    states = await tx.store.states_of_users(user_ids)
    evidence = await tx.store.evidence_of_users(present) if catalog.requirements else {}
    grants = await tx.store.grants_of_users(user_ids) if catalog.entitlements else {}
    return {
        u: Facts(rows.get(u), groups.get(u, []), states[u], evidence.get(u, []), grants.get(u, {}))
        for u in user_ids
    }


async def _evaluate(tx: Tx, user_id: str, catalog: Catalog, facts: Facts) -> None:
    """Bring the stored state of one user in line with the directory, evidence and clock."""
    row, states = facts.row, facts.states
    user = user_from_document(row.id, row.document, row.created) if row is not None else None
    snapshots: dict[str, Snapshot | None] = {}
    for requirement in catalog.requirements.values():
        previous = states.get(requirement.id)
        in_audience = (
            user is not None
            and row is not None
            and user.active
            and _in_audience(requirement, row.document, facts.groups)
        )
        if not in_audience:
            snapshots[requirement.id] = None
            if previous is not None:
                await _unassign(tx, user_id, requirement, previous.snapshot)
            continue
        assert user is not None and row is not None
        assigned_at = previous.assigned_at if previous is not None else tx.now
        subject = Subject(assigned_at, user.hire_date, row.role_changed_at)
        current = evaluate(requirement, subject, facts.evidence, tx.now)
        snapshots[requirement.id] = current
        moves = transitions(
            previous.snapshot if previous is not None else None, current, assigned_at
        )
        if moves or previous is None or previous.snapshot != current:
            await tx.store.save_state(
                user_id, requirement.id, assigned_at, current, tx.now, replace=previous is not None
            )
        for move in moves:
            await _record(tx, user_id, requirement, assigned_at, move)
    for orphan in sorted(set(states) - set(catalog.requirements)):
        # The requirement itself was deleted: the user drops out of it like any other.
        gone = Requirement(id=orphan, activity_iri="", audience_groups=("-",))
        await _unassign(tx, user_id, gone, states[orphan].snapshot)
    await _decide_entitlements(tx, user_id, catalog, snapshots, facts.grants)


def _in_audience(requirement: Requirement, document: dict[str, Any], groups: list[Any]) -> bool:
    if requirement.audience_groups:
        wanted = {g.casefold() for g in requirement.audience_groups}
        if not any(gid.casefold() in wanted or name.casefold() in wanted for gid, name in groups):
            return False
    if requirement.audience_filter:
        resource = scim.load_user(
            {**document, "groups": [{"value": gid, "display": name} for gid, name in groups]}
        )
        bound = scim.parse_filter(scim.ScimUser, requirement.audience_filter)
        return scim.filter_matches(bound, resource)
    return True


def _status_data(
    user_id: str,
    requirement: Requirement,
    status: str | None,
    previous: str | None,
    snapshot: Snapshot | None,
    assigned_at: datetime | None,
) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "user_id": user_id,
        "requirement_id": requirement.id,
        "activity_iri": requirement.activity_iri or None,
        "status": status,
        "previous_status": previous,
        "assigned_at": iso(assigned_at),
        "due_at": iso(snapshot.due_at) if snapshot is not None else None,
        "satisfied_at": iso(snapshot.satisfied_at) if snapshot is not None else None,
        "expires_at": iso(snapshot.expires_at) if snapshot is not None else None,
        "effective_at": iso(snapshot.effective_at if snapshot is not None else None),
        "evidence": list(snapshot.evidence) if snapshot is not None else [],
    }


async def _record(
    tx: Tx, user_id: str, requirement: Requirement, assigned_at: datetime, move: Transition
) -> None:
    snap = move.snapshot
    previous = move.previous.value if move.previous is not None else None
    await tx.store.record_compliance(
        user_id,
        requirement.id,
        move.kind,
        snap.status.value,
        snap.effective_at,
        snap.evidence,
        tx.now,
    )
    data = _status_data(user_id, requirement, snap.status.value, previous, snap, assigned_at)
    tx.publish(STATUS_TOPIC, f"compliance.{move.kind}", user_id, data, subject=requirement.id)


async def _unassign(tx: Tx, user_id: str, requirement: Requirement, previous: Snapshot) -> None:
    """A deactivated user, or one who left the audience, drops out of the requirement."""
    await tx.store.delete_state(user_id, requirement.id)
    await tx.store.record_compliance(
        user_id, requirement.id, "unassigned", None, tx.now, (), tx.now
    )
    data = _status_data(user_id, requirement, None, previous.status.value, None, None)
    data["effective_at"] = tx.now.isoformat()
    tx.publish(STATUS_TOPIC, "compliance.unassigned", user_id, data, subject=requirement.id)


async def _decide_entitlements(
    tx: Tx,
    user_id: str,
    catalog: Catalog,
    snapshots: dict[str, Snapshot | None],
    grants: dict[str, list[str]],
) -> None:
    for entitlement in catalog.entitlements.values():
        held = entitlement.id in grants
        decision = decide_entitlement(entitlement, catalog.requirements, snapshots, held, tx.now)
        if decision.granted == held:
            continue
        kind = "granted" if decision.granted else "revoked"
        evidence = decision.evidence if decision.granted else tuple(grants.get(entitlement.id, ()))
        await tx.store.save_grant(
            user_id, entitlement.id, decision.granted, evidence, decision.effective_at
        )
        await tx.store.record_grant(
            user_id,
            entitlement.id,
            decision.granted,
            decision.reason,
            decision.effective_at,
            evidence,
            tx.now,
        )
        data = {
            "user_id": user_id,
            "entitlement": entitlement.id,
            "requirements": list(entitlement.requirements),
            "reason": decision.reason,
            "effective_at": decision.effective_at.isoformat(),
            "evidence": list(evidence),
        }
        tx.publish(ENTITLEMENT_TOPIC, f"entitlement.{kind}", user_id, data, subject=entitlement.id)


async def tick(tx: Tx) -> int:
    """Evaluate every user whose state the passage of time can change; returns events published."""
    catalog = await load_catalog(tx)
    widest = max(
        (r.expiring_within.after(tx.now) for r in catalog.requirements.values()),
        default=tx.now,
    )
    horizon = max(widest, tx.now + timedelta(seconds=1))
    user_ids = await tx.store.users_due_for_tick(tx.now, horizon)
    return await evaluate_users(tx, user_ids, catalog)


async def evaluate_everyone(tx: Tx) -> int:
    """After a requirement changes: every user may be in or out of its audience."""
    return await evaluate_users(tx, await tx.store.all_user_ids())
