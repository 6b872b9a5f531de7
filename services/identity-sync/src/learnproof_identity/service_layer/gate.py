"""The access gate: AuthZEN evaluations answered from compliance state or its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain.compliance import COMPLIANT
from ..domain.errors import InvalidValue
from .catalog import Catalog, load_catalog
from .unit_of_work import Tx


@dataclass(frozen=True)
class Decision:
    """An AuthZEN decision with the reasons for the admin and for the person asking."""

    allowed: bool
    reason_admin: str
    reason_user: str
    details: dict[str, Any]

    def to_authzen(self) -> dict[str, Any]:
        return {
            "decision": self.allowed,
            "context": {
                "reason_admin": {"en": self.reason_admin},
                "reason_user": {"en": self.reason_user},
                **self.details,
            },
        }


async def evaluate_access(tx: Tx, request: dict[str, Any]) -> Decision:
    """Decide one AuthZEN request: may `subject` use `resource` (an entitlement or requirement)?"""
    subject = _object(request, "subject")
    resource = _object(request, "resource")
    context = request.get("context") or {}
    subject_id = str(subject.get("id") or "")
    resource_id = str(resource.get("id") or "")
    if not subject_id or not resource_id:
        raise InvalidValue("subject.id and resource.id are required")
    as_of = _as_of(context.get("as_of") if isinstance(context, dict) else None)
    catalog = await load_catalog(tx)
    user_ids = await tx.store.find_user_ids(subject_id)
    if len(user_ids) != 1:
        return Decision(
            False,
            f"subject {subject_id!r} matches {len(user_ids)} directory users",
            "You are not known to the training directory.",
            {"subject": subject_id},
        )
    user_id = user_ids[0]
    if str(resource.get("type", "entitlement")) == "requirement":
        return await _requirement(tx, catalog, user_id, resource_id, as_of)
    return await _entitlement(tx, catalog, user_id, resource_id, as_of)


async def _entitlement(
    tx: Tx, catalog: Catalog, user_id: str, entitlement_id: str, as_of: datetime | None
) -> Decision:
    entitlement = catalog.entitlements.get(entitlement_id)
    if entitlement is None:
        return Decision(
            False,
            f"no entitlement {entitlement_id!r} is configured",
            "This resource is not governed by training requirements.",
            {"user_id": user_id},
        )
    details: dict[str, Any] = {"user_id": user_id, "entitlement": entitlement_id}
    if as_of is not None:
        row = await tx.store.grant_as_of(user_id, entitlement_id, as_of)
        granted = row is not None and row.kind == "granted"
        details["as_of"] = as_of.isoformat()
        if row is not None:
            details.update(effective_at=row.effective_at.isoformat(), evidence=row.evidence)
        admin = f"on {as_of.isoformat()} {entitlement_id} was " + (
            f"{row.kind} since {row.effective_at.isoformat()} ({row.status})"
            if row
            else "never granted"
        )
        user = "You held this access then." if granted else "You did not hold this access then."
        return Decision(granted, admin, user, details)
    grants = await tx.store.grants_of(user_id)
    states = await tx.store.states_of(user_id)
    statuses = {
        r: (states[r].snapshot.status.value if r in states else "not assigned")
        for r in entitlement.requirements
    }
    details["requirements"] = statuses
    if entitlement_id in grants:
        details["evidence"] = grants[entitlement_id]
        return Decision(True, f"{entitlement_id} granted: {statuses}", "Access granted.", details)
    missing = [r for r, s in statuses.items() if s not in COMPLIANT]
    titles = [
        catalog.requirements[r].title or catalog.requirements[r].activity_iri
        for r in missing
        if r in catalog.requirements
    ]
    user_text = "Complete your required training first: " + ", ".join(titles or missing) + "."
    blockers = ", ".join(f"{r}={statuses[r]}" for r in missing) or "grace period ended"
    return Decision(False, f"{entitlement_id} not granted: {blockers}", user_text, details)


async def _requirement(
    tx: Tx, catalog: Catalog, user_id: str, requirement_id: str, as_of: datetime | None
) -> Decision:
    requirement = catalog.requirements.get(requirement_id)
    details: dict[str, Any] = {"user_id": user_id, "requirement": requirement_id}
    if requirement is None:
        return Decision(False, f"no requirement {requirement_id!r}", "Unknown training.", details)
    if as_of is not None:
        row = await tx.store.compliance_as_of(user_id, requirement_id, as_of)
        status = row.status if row is not None and row.status is not None else "not assigned"
        details.update(as_of=as_of.isoformat(), status=status)
    else:
        state = (await tx.store.states_of(user_id)).get(requirement_id)
        status = state.snapshot.status.value if state is not None else "not assigned"
        details["status"] = status
        if state is not None:
            details.update(
                due_at=state.snapshot.due_at.isoformat(), evidence=list(state.snapshot.evidence)
            )
    allowed = status in {s.value for s in COMPLIANT}
    title = requirement.title or requirement.activity_iri
    user_text = f"{title}: {status}." if allowed else f"Please complete {title} ({status})."
    return Decision(allowed, f"{requirement_id} is {status}", user_text, details)


async def evaluate_batch(tx: Tx, request: dict[str, Any]) -> list[Decision]:
    """AuthZEN `evaluations`: each item inherits subject/action/resource/context from the top."""
    items = request.get("evaluations")
    defaults: dict[str, Any] = {
        k: request[k] for k in ("subject", "action", "resource", "context") if k in request
    }
    if not items:
        return [await evaluate_access(tx, defaults)]
    if not isinstance(items, list):
        raise InvalidValue("evaluations must be a list")
    return [await evaluate_access(tx, {**defaults, **item}) for item in items]


def _object(request: dict[str, Any], name: str) -> dict[str, Any]:
    value = request.get(name)
    if not isinstance(value, dict):
        raise InvalidValue(f"{name} must be an object")
    return value


def _as_of(raw: Any) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidValue(f"context.as_of is not an ISO 8601 time: {raw!r}") from exc
    if moment.tzinfo is None:
        raise InvalidValue("context.as_of needs a timezone (e.g. Z)")
    return moment
