"""Directory records from identity-sync: users, groups and actor links, for cutting figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A SCIM user as identity-sync publishes it (only what analytics cuts by)."""

    id: str
    user_name: str | None
    display_name: str | None
    active: bool
    department: str | None
    manager_id: str | None


@dataclass(frozen=True, slots=True)
class DirectoryGroup:
    """A SCIM group and its member user ids."""

    id: str
    display_name: str | None
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinkedUser:
    """The directory user an actor key is linked to, with the user's group ids."""

    user: DirectoryUser
    groups: tuple[str, ...]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _manager(value: Any) -> str | None:
    # Entra sometimes sends the manager as a bare string, others as {"value": id}.
    if isinstance(value, Mapping):
        return _text(value.get("value"))
    return _text(value)


def user_from_data(user: Mapping[str, Any]) -> DirectoryUser:
    """A DirectoryUser from an ``identity.user.upserted`` payload."""
    active = user.get("active", True)
    if isinstance(active, str):
        active = active.strip().lower() != "false"
    return DirectoryUser(
        id=str(user["id"]),
        user_name=_text(user.get("userName")),
        display_name=_text(user.get("displayName")),
        active=bool(active),
        department=_text(user.get("department")),
        manager_id=_manager(user.get("managerId")),
    )


def group_from_data(group: Mapping[str, Any]) -> DirectoryGroup:
    """A DirectoryGroup from an ``identity.group.upserted`` payload."""
    raw = group.get("members") or []
    members: list[str] = []
    for member in raw:
        member_id = member.get("value") if isinstance(member, Mapping) else member
        if isinstance(member_id, str) and member_id not in members:
            members.append(member_id)
    return DirectoryGroup(
        id=str(group["id"]),
        display_name=_text(group.get("displayName")),
        members=tuple(sorted(members)),
    )
