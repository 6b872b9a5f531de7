"""Requirements and entitlements: the catalog read from the database in each transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.errors import InvalidDefinition, NotFound
from ..domain.requirements import (
    Entitlement,
    Requirement,
    entitlement_from_dict,
    requirement_from_dict,
)
from .unit_of_work import Tx


@dataclass(frozen=True)
class Catalog:
    """Every requirement and entitlement in force."""

    requirements: dict[str, Requirement]
    entitlements: dict[str, Entitlement]


async def load_catalog(tx: Tx) -> Catalog:
    raw_requirements, raw_entitlements = await tx.store.catalog_definitions()
    requirements = [requirement_from_dict(d) for d in raw_requirements]
    entitlements = [entitlement_from_dict(d) for d in raw_entitlements]
    return Catalog({r.id: r for r in requirements}, {e.id: e for e in entitlements})


async def put_requirement(tx: Tx, raw: Mapping[str, Any], source: str = "api") -> Requirement:
    requirement = requirement_from_dict(raw)
    await tx.store.upsert_definition("requirement", requirement.id, requirement.to_dict(), source)
    return requirement


async def put_entitlement(tx: Tx, raw: Mapping[str, Any], source: str = "api") -> Entitlement:
    entitlement = entitlement_from_dict(raw)
    await tx.store.upsert_definition("entitlement", entitlement.id, entitlement.to_dict(), source)
    return entitlement


async def delete_definition(tx: Tx, kind: str, item_id: str) -> None:
    if not await tx.store.delete_definition(kind, item_id):
        raise NotFound(f"{kind} {item_id!r} not found")


async def apply_file(tx: Tx, document: Mapping[str, Any]) -> int:
    """Make the file-sourced catalog equal to the file; returns how many definitions changed.

    The file is declarative: what it no longer lists (and came from a file) is removed, while
    definitions made through the API stay.
    """
    changed = 0
    for kind, key, parse in (
        ("requirement", "requirements", requirement_from_dict),
        ("entitlement", "entitlements", entitlement_from_dict),
    ):
        raw_items = document.get(key) or []
        if not isinstance(raw_items, list):
            raise InvalidDefinition(f"{key} must be a list")
        items = [parse(raw) for raw in raw_items]
        wanted = {item.id for item in items}
        for item in items:
            changed += await tx.store.upsert_definition(kind, item.id, item.to_dict(), "file")
        for stale in set(await tx.store.definition_ids(kind, "file")) - wanted:
            changed += await tx.store.delete_definition(kind, stale)
    return changed
