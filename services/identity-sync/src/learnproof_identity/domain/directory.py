"""The directory as the rest of identity-sync sees it: users and groups, flattened from SCIM."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .scim import ENTERPRISE_URN, LEARNPROOF_URN


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """What compliance and reconciliation need to know about one SCIM user."""

    id: str
    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool
    emails: tuple[str, ...]
    department: str | None
    manager_id: str | None
    hire_date: datetime | None
    created: datetime

    def event_data(self) -> dict[str, Any]:
        """The `user` object of identity.user.upserted (common brief)."""
        return {
            "id": self.id,
            "userName": self.user_name,
            "externalId": self.external_id,
            "displayName": self.display_name,
            "active": self.active,
            "emails": list(self.emails),
            "department": self.department,
            "managerId": self.manager_id,
            "hireDate": self.hire_date.isoformat() if self.hire_date is not None else None,
        }


@dataclass(frozen=True, slots=True)
class DirectoryGroup:
    """One SCIM group with its member user ids."""

    id: str
    display_name: str
    members: tuple[str, ...] = field(default=())

    def event_data(self) -> dict[str, Any]:
        """The `group` object of identity.group.upserted."""
        return {"id": self.id, "displayName": self.display_name, "members": list(self.members)}


def user_from_document(user_id: str, document: dict[str, Any], created: datetime) -> DirectoryUser:
    """Flatten a stored SCIM user document."""
    enterprise = document.get(ENTERPRISE_URN) or {}
    extension = document.get(LEARNPROOF_URN) or {}
    manager = enterprise.get("manager")
    manager_id = manager.get("value") if isinstance(manager, dict) else None
    emails = tuple(
        str(e["value"]).lower()
        for e in document.get("emails") or []
        if isinstance(e, dict) and e.get("value")
    )
    return DirectoryUser(
        id=user_id,
        user_name=str(document.get("userName", "")),
        external_id=document.get("externalId"),
        display_name=document.get("displayName") or _formatted_name(document),
        active=document.get("active") is not False,
        emails=emails,
        department=enterprise.get("department"),
        manager_id=manager_id,
        hire_date=_parse_time(extension.get("hireDate")),
        created=created,
    )


def _formatted_name(document: dict[str, Any]) -> str | None:
    name = document.get("name")
    if not isinstance(name, dict):
        return None
    if name.get("formatted"):
        return str(name["formatted"])
    parts = [name.get("givenName"), name.get("familyName")]
    joined = " ".join(str(p) for p in parts if p)
    return joined or None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
