"""Compliance state per (user, requirement) and entitlement decisions, as pure functions of time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from .requirements import DueFrom, Entitlement, MoveOn, Requirement

VERBS = {
    "http://adlnet.gov/expapi/verbs/completed": "completed",
    "http://adlnet.gov/expapi/verbs/passed": "passed",
    "https://w3id.org/xapi/adl/verbs/satisfied": "satisfied",
}


class Status(StrEnum):
    """Where a (user, requirement) pair stands."""

    assigned = "assigned"
    overdue = "overdue"
    satisfied = "satisfied"
    expiring = "expiring"
    expired = "expired"


COMPLIANT = frozenset({Status.satisfied, Status.expiring})
_HAD_EVIDENCE = frozenset({Status.satisfied, Status.expiring, Status.expired})


@dataclass(frozen=True, slots=True)
class Evidence:
    """A statement that may prove a requirement: one of the VERBS on an activity."""

    statement_id: str
    verb: str
    activity_iri: str
    registration: str | None
    timestamp: datetime
    voided: bool = False


@dataclass(frozen=True, slots=True)
class Subject:
    """The dates a due rule may count from."""

    assigned_at: datetime
    hire_date: datetime | None = None
    role_changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The computed state of one (user, requirement) at one instant."""

    status: Status
    effective_at: datetime
    due_at: datetime
    satisfied_at: datetime | None = None
    expires_at: datetime | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change to publish as a `compliance.<kind>` event and keep in the history."""

    kind: str
    snapshot: Snapshot
    previous: Status | None


def evidence_from_statement(statement: Mapping[str, Any]) -> Evidence | None:
    """The evidence a stored statement carries, if its verb can satisfy a requirement."""
    verb = VERBS.get(str((statement.get("verb") or {}).get("id", "")))
    target = statement.get("object") or {}
    if verb is None or target.get("objectType", "Activity") != "Activity" or not target.get("id"):
        return None
    moment = statement.get("timestamp") or statement.get("stored")
    if not moment or not statement.get("id"):
        return None
    context = statement.get("context") or {}
    return Evidence(
        statement_id=str(statement["id"]),
        verb=verb,
        activity_iri=str(target["id"]),
        registration=context.get("registration"),
        timestamp=parse_time(str(moment)),
    )


def parse_time(text: str) -> datetime:
    """xAPI timestamps, 'Z' included."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _candidates(
    requirement: Requirement, evidence: Iterable[Evidence], since: datetime
) -> list[tuple[datetime, tuple[str, ...]]]:
    """(when it was satisfied, statement ids proving it) per satisfying occurrence."""
    usable = [
        e
        for e in evidence
        if not e.voided and e.activity_iri == requirement.activity_iri and e.timestamp >= since
    ]
    found: list[tuple[datetime, tuple[str, ...]]] = [
        (e.timestamp, (e.statement_id,)) for e in usable if e.verb == "satisfied"
    ]
    rule = requirement.move_on
    for e in usable:
        if (e.verb == "completed" and rule in (MoveOn.completed, MoveOn.completed_or_passed)) or (
            e.verb == "passed" and rule in (MoveOn.passed, MoveOn.completed_or_passed)
        ):
            found.append((e.timestamp, (e.statement_id,)))
    if rule is MoveOn.completed_and_passed:
        # cmi5 pairs completion and pass within one registration.
        by_registration: dict[str | None, dict[str, Evidence]] = {}
        for e in sorted(usable, key=lambda x: x.timestamp):
            by_registration.setdefault(e.registration, {}).setdefault(e.verb, e)
        for verbs in by_registration.values():
            if "completed" in verbs and "passed" in verbs:
                pair = (verbs["completed"], verbs["passed"])
                moment = max(p.timestamp for p in pair)
                found.append((moment, tuple(p.statement_id for p in pair)))
    return found


def initial_due(requirement: Requirement, subject: Subject) -> datetime:
    """The first due date of an assignment."""
    if requirement.due_from is DueFrom.fixed and requirement.due_on is not None:
        return requirement.due_on
    start = subject.assigned_at
    if requirement.due_from is DueFrom.hire_date and subject.hire_date is not None:
        start = subject.hire_date
    if requirement.due_from is DueFrom.role_change and subject.role_changed_at is not None:
        start = max(subject.role_changed_at, subject.assigned_at)
    return requirement.due_within.after(start)


def evaluate(
    requirement: Requirement, subject: Subject, evidence: Iterable[Evidence], now: datetime
) -> Snapshot:
    """The state at `now`: a pure function, so replays and clock jumps give the same answer."""
    since = requirement.lookback.before(subject.assigned_at)
    candidates = _candidates(requirement, evidence, since)
    if not candidates:
        due = initial_due(requirement, subject)
        if now >= due:
            return Snapshot(Status.overdue, due, due)
        return Snapshot(Status.assigned, subject.assigned_at, due)
    satisfied_at, proof = max(candidates)
    credited_at = max(satisfied_at, subject.assigned_at)
    expires = (
        requirement.recurrence.after(satisfied_at) if requirement.recurrence is not None else None
    )
    base = Snapshot(
        Status.satisfied, credited_at, expires or credited_at, satisfied_at, expires, proof
    )
    if expires is None:
        return base
    if now >= expires:
        return replace(base, status=Status.expired, effective_at=expires)
    warn_from = requirement.expiring_within.before(expires)
    if now >= warn_from:
        return replace(base, status=Status.expiring, effective_at=max(warn_from, credited_at))
    return base


def transitions(
    previous: Snapshot | None, current: Snapshot, assigned_at: datetime
) -> list[Transition]:
    """The events that take `previous` to `current` (empty when nothing changed)."""
    if previous is None:
        assigned = Snapshot(Status.assigned, assigned_at, current.due_at)
        first = Transition("assigned", assigned, None)
        if current.status is Status.assigned:
            return [first]
        return [first, Transition(current.status.value, current, Status.assigned)]
    if previous.status is current.status and previous.evidence == current.evidence:
        return []
    if previous.status in _HAD_EVIDENCE and current.status not in _HAD_EVIDENCE:
        reopened = Transition("reopened", current, previous.status)
        if current.status is Status.overdue:
            return [reopened, Transition("overdue", current, previous.status)]
        return [reopened]
    if current.status is Status.assigned:
        # Only a changed due date (e.g. hire date corrected) gets here: say it again.
        return [Transition("assigned", current, previous.status)]
    return [Transition(current.status.value, current, previous.status)]


@dataclass(frozen=True, slots=True)
class EntitlementDecision:
    """Whether an entitlement holds, and why."""

    granted: bool
    reason: str
    effective_at: datetime
    evidence: tuple[str, ...]


def decide_entitlement(
    entitlement: Entitlement,
    requirements: Mapping[str, Requirement],
    snapshots: Mapping[str, Snapshot | None],
    currently_granted: bool,
    now: datetime,
) -> EntitlementDecision:
    """Grant when every requirement is satisfied; once granted, keep it through the grace period
    of a reopened requirement, and revoke on expiry, past-grace overdue or dropping out."""
    evidence: list[str] = []
    granted_at: list[datetime] = []
    blockers: list[str] = []
    revoke_at: list[datetime] = []
    for req_id in entitlement.requirements:
        snap = snapshots.get(req_id)
        requirement = requirements.get(req_id)
        if snap is None or requirement is None:
            blockers.append(f"{req_id}: not assigned")
            revoke_at.append(now)
            continue
        if snap.status in COMPLIANT:
            evidence.extend(snap.evidence)
            granted_at.append(snap.effective_at)
            continue
        if snap.status is Status.expired:
            blockers.append(f"{req_id}: expired")
            revoke_at.append(snap.effective_at)
            continue
        grace_end = requirement.grace.after(snap.due_at)
        if currently_granted and now < grace_end:
            granted_at.append(snap.effective_at)
            continue
        blockers.append(f"{req_id}: {snap.status.value}")
        revoke_at.append(grace_end if snap.status is Status.overdue else now)
    if not blockers:
        moment = max(granted_at) if granted_at else now
        return EntitlementDecision(True, "all requirements satisfied", moment, tuple(evidence))
    moment = min(revoke_at) if currently_granted else now
    return EntitlementDecision(False, "; ".join(blockers), moment, tuple(evidence))


def requirement_ids_for_activity(
    requirements: Sequence[Requirement], activity_iri: str
) -> list[str]:
    """The requirements a statement about this activity can move."""
    return [r.id for r in requirements if r.activity_iri == activity_iri]
