"""SCIM 2.0 routes (/scim/v2): Users, Groups and the discovery endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from ..domain import scim
from ..domain.errors import NotFound
from ..service_layer import directory
from .deps import Body, ContainerDep, ScimBase, bearer
from .errors import ScimResponse

router = APIRouter(
    prefix="/scim/v2",
    dependencies=[Depends(bearer("scim", open_when_empty=False))],
    default_response_class=ScimResponse,
)

Filter = Annotated[str | None, Query(alias="filter")]
StartIndex = Annotated[int, Query(alias="startIndex")]
Count = Annotated[int, Query(alias="count", ge=0)]
Attributes = Annotated[str | None, Query(alias="attributes")]
Excluded = Annotated[str | None, Query(alias="excludedAttributes")]


def _count(count: int) -> int:
    return min(count, scim.MAX_RESULTS)


@router.get("/Users")
async def list_users(
    c: ContainerDep,
    base: ScimBase,
    filter_: Filter = None,
    start_index: StartIndex = 1,
    count: Count = 100,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> ScimResponse:
    async with c.services.transaction() as tx:
        page = await directory.search_users(tx, filter_, start_index, _count(count), base)
    shown = [scim.project(scim.ScimUser, r, attributes, excluded) for r in page.resources]
    return ScimResponse(scim.list_response(page.total, max(start_index, 1), shown))


@router.post("/Users/.search")
async def search_users(c: ContainerDep, base: ScimBase, body: Body) -> ScimResponse:
    """RFC 7644 §3.4.3: the same query as GET, in a SearchRequest body."""
    query = scim.search_request(body)
    return await list_users(c, base, **query)


@router.post("/Groups/.search")
async def search_groups(c: ContainerDep, base: ScimBase, body: Body) -> ScimResponse:
    query = scim.search_request(body)
    return await list_groups(c, base, **query)


@router.post("/.search")
async def search_everything(c: ContainerDep, base: ScimBase, body: Body) -> ScimResponse:
    """A server-root search across Users and Groups (RFC 7644 §3.4.3)."""
    q = scim.search_request(body)
    async with c.services.transaction() as tx:
        page = await directory.search_all(tx, q["filter_"], q["start_index"], q["count"], base)
    shown = [
        scim.project(
            scim.ScimUser if r["meta"]["resourceType"] == "User" else scim.ScimGroup,
            r,
            q["attributes"],
            q["excluded"],
        )
        for r in page.resources
    ]
    return ScimResponse(scim.list_response(page.total, max(q["start_index"], 1), shown))


@router.post("/Users", status_code=201)
async def create_user(c: ContainerDep, base: ScimBase, body: Body) -> ScimResponse:
    async with c.services.transaction() as tx:
        user = await directory.create_user(tx, body, base)
    return ScimResponse(user, status_code=201, headers={"Location": user["meta"]["location"]})


@router.get("/Users/{user_id}")
async def get_user(
    user_id: str,
    c: ContainerDep,
    base: ScimBase,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> ScimResponse:
    async with c.services.transaction() as tx:
        user = await directory.get_user(tx, user_id, base)
    return ScimResponse(scim.project(scim.ScimUser, user, attributes, excluded))


@router.put("/Users/{user_id}")
async def replace_user(user_id: str, c: ContainerDep, base: ScimBase, body: Body) -> ScimResponse:
    async with c.services.transaction() as tx:
        return ScimResponse(await directory.replace_user(tx, user_id, body, base))


@router.patch("/Users/{user_id}")
async def patch_user(user_id: str, c: ContainerDep, base: ScimBase, body: Body) -> ScimResponse:
    async with c.services.transaction() as tx:
        return ScimResponse(await directory.patch_user(tx, user_id, body, base))


@router.delete("/Users/{user_id}", status_code=204)
async def delete_user(user_id: str, c: ContainerDep) -> Response:
    async with c.services.transaction() as tx:
        await directory.delete_user(tx, user_id)
    return Response(status_code=204)


@router.get("/Groups")
async def list_groups(
    c: ContainerDep,
    base: ScimBase,
    filter_: Filter = None,
    start_index: StartIndex = 1,
    count: Count = 100,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> ScimResponse:
    # Entra asks with excludedAttributes=members: skip loading them at all.
    with_members = "members" not in (excluded or "").lower()
    async with c.services.transaction() as tx:
        page = await directory.search_groups(
            tx, filter_, start_index, _count(count), base, with_members=with_members
        )
    shown = [scim.project(scim.ScimGroup, r, attributes, excluded) for r in page.resources]
    return ScimResponse(scim.list_response(page.total, max(start_index, 1), shown))


@router.post("/Groups", status_code=201)
async def create_group(c: ContainerDep, base: ScimBase, body: Body) -> ScimResponse:
    async with c.services.transaction() as tx:
        group = await directory.create_group(tx, body, base)
    return ScimResponse(group, status_code=201, headers={"Location": group["meta"]["location"]})


@router.get("/Groups/{group_id}")
async def get_group(
    group_id: str,
    c: ContainerDep,
    base: ScimBase,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> ScimResponse:
    with_members = "members" not in (excluded or "").lower()
    async with c.services.transaction() as tx:
        group = await directory.get_group(tx, group_id, base, with_members=with_members)
    return ScimResponse(scim.project(scim.ScimGroup, group, attributes, excluded))


@router.put("/Groups/{group_id}")
async def replace_group(group_id: str, c: ContainerDep, base: ScimBase, body: Body) -> ScimResponse:
    async with c.services.transaction() as tx:
        return ScimResponse(await directory.replace_group(tx, group_id, body, base))


@router.patch("/Groups/{group_id}")
async def patch_group(group_id: str, c: ContainerDep, base: ScimBase, body: Body) -> Response:
    async with c.services.transaction() as tx:
        group = await directory.patch_group(tx, group_id, body, base)
    return ScimResponse(group)


@router.delete("/Groups/{group_id}", status_code=204)
async def delete_group(group_id: str, c: ContainerDep) -> Response:
    async with c.services.transaction() as tx:
        await directory.delete_group(tx, group_id)
    return Response(status_code=204)


@router.get("/ServiceProviderConfig")
async def service_provider_config(base: ScimBase) -> ScimResponse:
    return ScimResponse(scim.service_provider_config(base))


@router.get("/ResourceTypes")
async def resource_types(base: ScimBase) -> ScimResponse:
    items = scim.resource_types(base)
    return ScimResponse(scim.list_response(len(items), 1, items))


@router.get("/ResourceTypes/{name}")
async def resource_type(name: str, base: ScimBase) -> ScimResponse:
    return ScimResponse(_one(scim.resource_types(base), name, "ResourceType"))


@router.get("/Schemas")
async def schemas(base: ScimBase) -> ScimResponse:
    items = scim.schemas(base)
    return ScimResponse(scim.list_response(len(items), 1, items))


@router.get("/Schemas/{schema_id}")
async def schema(schema_id: str, base: ScimBase) -> ScimResponse:
    return ScimResponse(_one(scim.schemas(base), schema_id, "Schema"))


def _one(items: list[dict[str, object]], wanted: str, kind: str) -> dict[str, object]:
    for item in items:
        if str(item.get("id", "")).lower() == wanted.lower():
            return item
    raise NotFound(f"{kind} {wanted} not found")
