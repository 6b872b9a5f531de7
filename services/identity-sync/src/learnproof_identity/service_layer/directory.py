"""SCIM use cases: create, read, replace, patch, delete and search Users and Groups."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scim2_models import Context

from ..adapters.store import ResourceRow
from ..domain import scim
from ..domain.directory import DirectoryGroup, user_from_document
from ..domain.errors import InvalidValue, NotFound
from .compliance import evaluate_users, evaluate_written_user
from .reconciliation import relink_user, unlink
from .unit_of_work import DIRECTORY_TOPIC, Tx

_READ_ONLY = ("id", "meta", "groups")


@dataclass(frozen=True)
class Page:
    """One page of a SCIM search."""

    total: int
    start_index: int
    resources: list[dict[str, Any]]


# --- users -----------------------------------------------------------------------------------


async def create_user(tx: Tx, payload: dict[str, Any], base_url: str) -> dict[str, Any]:
    resource = scim.parse_user(payload, ctx=Context.RESOURCE_CREATION_REQUEST)
    document = _stored(resource)
    user_id = str(uuid.uuid4())
    row = await tx.store.insert_user(user_id, document["userName"], document, tx.now)
    # A user created in this transaction belongs to no group yet.
    await _after_user_change(tx, row, None, [])
    return _present(row, [], base_url)


async def get_user(tx: Tx, user_id: str, base_url: str) -> dict[str, Any]:
    row = await _user_row(tx, user_id)
    return await _present_user(tx, row, base_url, with_groups=True)


async def replace_user(
    tx: Tx, user_id: str, payload: dict[str, Any], base_url: str
) -> dict[str, Any]:
    row = await _user_row(tx, user_id)
    resource = scim.parse_user(payload, ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    return await _save_user(tx, row, _stored(resource), base_url)


async def patch_user(
    tx: Tx, user_id: str, payload: dict[str, Any], base_url: str
) -> dict[str, Any]:
    row = await _user_row(tx, user_id)
    resource = scim.load_user(row.document)
    if scim.apply_patch(resource, payload):
        document = _stored(resource)
        if not document.get("userName"):
            raise InvalidValue("userName cannot be removed")
        return await _save_user(tx, row, document, base_url)
    return await _present_user(tx, row, base_url, with_groups=True)


async def delete_user(tx: Tx, user_id: str) -> None:
    await _user_row(tx, user_id)
    for group_id, _ in await tx.store.groups_of(user_id):
        await _publish_group(tx, group_id, removed={user_id})
    await tx.store.delete_user(user_id)
    for actor_key in await tx.store.links_of(user_id):
        await unlink(tx, actor_key)
    tx.publish(DIRECTORY_TOPIC, "identity.user.deactivated", user_id, {"user_id": user_id})
    await evaluate_users(tx, [user_id])


async def search_users(
    tx: Tx, filter_text: str | None, start_index: int, count: int, base_url: str
) -> Page:
    bound = scim.parse_filter(scim.ScimUser, filter_text) if filter_text else None
    rows = await tx.store.list_users(scim.equality_hint(bound) if bound is not None else None)
    matched = rows
    if bound is not None:
        # Group memberships cost a query per user: load them only when the filter names them.
        needs_groups = "groups" in str(filter_text).lower()
        matched = []
        for row in rows:
            document = await _present_user(tx, row, base_url, with_groups=needs_groups)
            if scim.filter_matches(bound, scim.load_user(document)):
                matched.append(row)
    selected = _page(matched, start_index, count)
    resources = [await _present_user(tx, r, base_url, with_groups=True) for r in selected]
    return Page(len(matched), start_index, resources)


async def _save_user(
    tx: Tx, row: ResourceRow, document: dict[str, Any], base_url: str
) -> dict[str, Any]:
    """Store a changed user, follow up (events, links, compliance) and present it."""
    before = _enterprise(row.document).get("department")
    role_changed = _enterprise(document).get("department") != before
    saved = await tx.store.update_user(row, document["userName"], document, tx.now, role_changed)
    if saved is None:
        raise NotFound(f"User {row.id} not found")
    groups = await tx.store.groups_of(row.id)
    await _after_user_change(tx, saved, row.document, groups)
    return _present(saved, groups, base_url)


async def _after_user_change(
    tx: Tx, row: ResourceRow, previous: dict[str, Any] | None, groups: list[tuple[str, str]]
) -> None:
    """Events, actor links and compliance after `row` was written (`previous`: None = created)."""
    user = user_from_document(row.id, row.document, row.created)
    tx.publish(DIRECTORY_TOPIC, "identity.user.upserted", row.id, {"user": user.event_data()})
    was_active = previous is None or previous.get("active") is not False
    if not user.active and was_active:
        tx.publish(DIRECTORY_TOPIC, "identity.user.deactivated", row.id, {"user_id": row.id})
    created = previous is None
    linked = await relink_user(tx, user, created=created)
    await evaluate_written_user(tx, row, groups, created=created, linked=linked)


async def _present_user(
    tx: Tx, row: ResourceRow, base_url: str, *, with_groups: bool
) -> dict[str, Any]:
    groups = await tx.store.groups_of(row.id) if with_groups else []
    return _present(row, groups, base_url)


def _present(row: ResourceRow, groups: list[tuple[str, str]], base_url: str) -> dict[str, Any]:
    document = {**row.document, "id": row.id, "meta": _meta("User", row, base_url, "Users")}
    if groups:
        document["groups"] = [
            {"value": gid, "display": name, "$ref": f"{base_url}/Groups/{gid}"}
            for gid, name in groups
        ]
    return document


async def _user_row(tx: Tx, user_id: str) -> ResourceRow:
    row = await tx.store.get_user(user_id)
    if row is None:
        raise NotFound(f"User {user_id} not found")
    return row


def _enterprise(document: dict[str, Any]) -> dict[str, Any]:
    value = document.get(scim.ENTERPRISE_URN)
    return value if isinstance(value, dict) else {}


# --- groups ----------------------------------------------------------------------------------


async def create_group(tx: Tx, payload: dict[str, Any], base_url: str) -> dict[str, Any]:
    resource = scim.parse_group(payload, ctx=Context.RESOURCE_CREATION_REQUEST)
    document, members = await _split_members(tx, resource)
    group_id = str(uuid.uuid4())
    await tx.store.insert_group(group_id, document, tx.now)
    await tx.store.add_members(group_id, members, tx.now)
    await _publish_group(tx, group_id)
    await evaluate_users(tx, list(members))
    return await get_group(tx, group_id, base_url)


async def get_group(
    tx: Tx, group_id: str, base_url: str, *, with_members: bool = True
) -> dict[str, Any]:
    row = await _group_row(tx, group_id)
    members = (await tx.store.member_rows([group_id]))[group_id] if with_members else None
    return _present_group(row, members, base_url)


async def replace_group(
    tx: Tx, group_id: str, payload: dict[str, Any], base_url: str
) -> dict[str, Any]:
    row = await _group_row(tx, group_id)
    resource = scim.parse_group(payload, ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    document, members = await _split_members(tx, resource)
    await _save_group(tx, row, document, members)
    return await get_group(tx, group_id, base_url)


async def patch_group(
    tx: Tx, group_id: str, payload: dict[str, Any], base_url: str
) -> dict[str, Any]:
    row = await _group_row(tx, group_id)
    current = (await tx.store.member_rows([group_id]))[group_id]
    resource = scim.load_group(_present_group(row, current, base_url))
    if scim.apply_patch(resource, payload):
        document, members = await _split_members(tx, resource)
        await _save_group(tx, row, document, members)
    return await get_group(tx, group_id, base_url)


async def delete_group(tx: Tx, group_id: str) -> None:
    await _group_row(tx, group_id)
    members = (await tx.store.members_of([group_id]))[group_id]
    await tx.store.delete_group(group_id)
    tx.publish(DIRECTORY_TOPIC, "identity.group.deleted", group_id, {"group_id": group_id})
    await evaluate_users(tx, members)


async def search_groups(
    tx: Tx,
    filter_text: str | None,
    start_index: int,
    count: int,
    base_url: str,
    *,
    with_members: bool = True,
) -> Page:
    bound = scim.parse_filter(scim.ScimGroup, filter_text) if filter_text else None
    rows = await tx.store.list_groups(scim.equality_hint(bound) if bound is not None else None)
    members = await tx.store.member_rows([r.id for r in rows])
    matched = [
        r
        for r in rows
        if bound is None
        or scim.filter_matches(bound, scim.load_group(_present_group(r, members[r.id], base_url)))
    ]
    selected = _page(matched, start_index, count)
    resources = [
        _present_group(r, members[r.id] if with_members else None, base_url) for r in selected
    ]
    return Page(len(matched), start_index, resources)


async def search_all(
    tx: Tx, filter_text: str | None, start_index: int, count: int, base_url: str
) -> Page:
    """Users then Groups matching one filter; an attribute a type lacks matches nothing there."""
    users = await search_users(tx, filter_text, 1, scim.MAX_RESULTS, base_url)
    groups = await search_groups(tx, filter_text, 1, scim.MAX_RESULTS, base_url)
    everything = users.resources + groups.resources
    start = max(start_index, 1) - 1
    return Page(len(everything), start_index, everything[start : start + max(count, 0)])


async def _save_group(
    tx: Tx, row: ResourceRow, document: dict[str, Any], members: dict[str, str | None]
) -> None:
    current = dict((await tx.store.member_rows([row.id]))[row.id])
    before, after = set(current), set(members)
    await tx.store.update_group(row, document, tx.now)
    await tx.store.remove_members(row.id, before - after)
    await tx.store.add_members(
        row.id, {m: d for m, d in members.items() if m not in before}, tx.now
    )
    for kept in before & after:
        if current[kept] != members[kept]:
            await tx.store.set_member_display(row.id, kept, members[kept])
    await _publish_group(tx, row.id)
    renamed = row.document.get("displayName") != document.get("displayName")
    # Audiences name groups, so a rename can move every member in or out.
    await evaluate_users(tx, (before | after) if renamed else (before ^ after))


async def _split_members(tx: Tx, resource: Any) -> tuple[dict[str, Any], dict[str, str | None]]:
    document = _stored(resource)
    raw = document.pop("members", None) or []
    members: dict[str, str | None] = {}
    for item in raw:
        if item.get("value"):
            members.setdefault(str(item["value"]), item.get("display"))
    missing = set(members) - await tx.store.existing_user_ids(members)
    if missing:
        raise InvalidValue(f"unknown member ids: {', '.join(sorted(missing))}")
    return document, members


async def _publish_group(tx: Tx, group_id: str, removed: Iterable[str] = ()) -> None:
    row = await _group_row(tx, group_id)
    gone = set(removed)
    members = [m for m in (await tx.store.members_of([group_id]))[group_id] if m not in gone]
    group = DirectoryGroup(group_id, str(row.document.get("displayName", "")), tuple(members))
    tx.publish(DIRECTORY_TOPIC, "identity.group.upserted", group_id, {"group": group.event_data()})


def _present_group(
    row: ResourceRow, members: list[tuple[str, str | None]] | None, base_url: str
) -> dict[str, Any]:
    document = {**row.document, "id": row.id, "meta": _meta("Group", row, base_url, "Groups")}
    if members is not None:
        document["members"] = [
            {"value": m, "$ref": f"{base_url}/Users/{m}", "type": "User"}
            | ({"display": display} if display is not None else {})
            for m, display in members
        ]
    return document


async def _group_row(tx: Tx, group_id: str) -> ResourceRow:
    row = await tx.store.get_group(group_id)
    if row is None:
        raise NotFound(f"Group {group_id} not found")
    return row


# --- shared ----------------------------------------------------------------------------------


def _stored(resource: Any) -> dict[str, Any]:
    document = scim.dump(resource)
    for key in _READ_ONLY:
        document.pop(key, None)
    return document


def _meta(resource_type: str, row: ResourceRow, base_url: str, endpoint: str) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": row.created.isoformat(),
        "lastModified": row.last_modified.isoformat(),
        "location": f"{base_url}/{endpoint}/{row.id}",
        "version": f'W/"{row.version}"',
    }


def _page(rows: list[ResourceRow], start_index: int, count: int) -> list[ResourceRow]:
    start = max(start_index, 1) - 1
    return rows[start : start + max(count, 0)]
