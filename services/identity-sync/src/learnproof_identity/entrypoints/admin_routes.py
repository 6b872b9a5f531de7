"""Admin API: requirements, entitlements, reconciliation, compliance views and the clock tick."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from ..domain.actors import actor_key
from ..domain.errors import InvalidValue
from ..service_layer import catalog, compliance, reconciliation
from .deps import Body, ContainerDep, bearer

router = APIRouter(prefix="/api/v1", dependencies=[Depends(bearer("admin", open_when_empty=True))])
KINDS = {"requirements": "requirement", "entitlements": "entitlement"}


def _kind(collection: str) -> str:
    if collection not in KINDS:
        raise InvalidValue(f"unknown collection {collection!r}")
    return KINDS[collection]


@router.get("/reconciliation/unmatched")
async def unmatched_actors(
    c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    async with c.services.transaction() as tx:
        return await reconciliation.unmatched(tx, limit, offset)


@router.post("/reconciliation/links", status_code=201)
async def link_actor(c: ContainerDep, body: Body) -> dict[str, Any]:
    key = body.get("actor_key") or (actor_key(body["actor"]) if body.get("actor") else None)
    if not key or not body.get("user_id"):
        raise InvalidValue("give user_id and actor_key (or an xAPI actor)")
    async with c.services.transaction() as tx:
        replaced = await reconciliation.link_manually(tx, str(key), str(body["user_id"]))
        touched = [str(body["user_id"])] + ([replaced] if replaced else [])
        published = await compliance.evaluate_users(tx, touched)
    return {"actor_key": key, "user_id": body["user_id"], "events_published": published}


@router.delete("/reconciliation/links", status_code=204)
async def unlink_actor(c: ContainerDep, actor_key: Annotated[str, Query()]) -> Response:
    async with c.services.transaction() as tx:
        user_id = await reconciliation.unlink(tx, actor_key)
        await compliance.evaluate_users(tx, [user_id])
    return Response(status_code=204)


@router.get("/compliance")
async def compliance_table(
    c: ContainerDep, requirement: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    async with c.services.transaction() as tx:
        rows = await tx.store.compliance_table(requirement)
    return {"states": [_jsonable(r) for r in rows]}


@router.get("/users/{user_id}/compliance")
async def user_compliance(user_id: str, c: ContainerDep) -> dict[str, Any]:
    async with c.services.transaction() as tx:
        states = await tx.store.states_of(user_id)
        history = await tx.store.compliance_history_of(user_id)
        grants = await tx.store.grants_of(user_id)
    return {
        "user_id": user_id,
        "states": {
            r: {
                "status": s.snapshot.status.value,
                "assigned_at": s.assigned_at.isoformat(),
                "due_at": s.snapshot.due_at.isoformat(),
                "expires_at": _iso(s.snapshot.expires_at),
                "evidence": list(s.snapshot.evidence),
            }
            for r, s in states.items()
        },
        "entitlements": grants,
        "history": [_jsonable(h) for h in history],
    }


@router.get("/compliance/as-of")
async def compliance_as_of(
    c: ContainerDep,
    at: Annotated[datetime, Query(description="ISO 8601 time with a zone")],
    requirement: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Who was compliant at `at`, per requirement, from the transition history."""
    if at.tzinfo is None:
        raise InvalidValue("`at` needs a timezone (e.g. Z)")
    async with c.services.transaction() as tx:
        rows = await tx.store.compliance_at(at, requirement)
    states = []
    for row in rows:
        user_id, requirement_id = row.key.split("|", 1)
        status = row.status or "unassigned"
        states.append(
            {
                "user_id": user_id,
                "requirement_id": requirement_id,
                "status": status,
                "compliant": status in ("satisfied", "expiring"),
                "since": row.effective_at.isoformat(),
                "evidence": row.evidence,
            }
        )
    return {"at": at.isoformat(), "states": states}


@router.get("/entitlements/{entitlement_id}/holders")
async def entitlement_holders(entitlement_id: str, c: ContainerDep) -> dict[str, Any]:
    """Who holds an entitlement now: for IAM systems that poll instead of consuming events."""
    async with c.services.transaction() as tx:
        return {"entitlement": entitlement_id, "holders": await tx.store.holders_of(entitlement_id)}


@router.post("/tick")
async def tick(c: ContainerDep) -> dict[str, Any]:
    return {"events_published": await c.tick(), "now": c.services.clock.now().isoformat()}


# Generic collection routes last: /reconciliation/links must not match /{collection}/{id}.
@router.get("/{collection}")
async def list_definitions(collection: str, c: ContainerDep) -> dict[str, Any]:
    async with c.services.transaction() as tx:
        return {collection: await tx.store.definitions(_kind(collection))}


@router.put("/{collection}/{item_id}")
async def put_definition(
    collection: str, item_id: str, c: ContainerDep, body: Body
) -> dict[str, Any]:
    kind = _kind(collection)
    put = catalog.put_requirement if kind == "requirement" else catalog.put_entitlement
    async with c.services.transaction() as tx:
        item = await put(tx, {**body, "id": item_id})
        published = await compliance.evaluate_everyone(tx)
    return {kind: item.to_dict(), "events_published": published}


@router.delete("/{collection}/{item_id}", status_code=204)
async def delete_definition(collection: str, item_id: str, c: ContainerDep) -> Response:
    async with c.services.transaction() as tx:
        await catalog.delete_definition(tx, _kind(collection), item_id)
        await compliance.evaluate_everyone(tx)
    return Response(status_code=204)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) for k, v in row.items()}
