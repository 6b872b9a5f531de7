"""Reconciliation: link xAPI actors to directory users, now or late, and report who is unmatched."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..domain.actors import keys_for_user
from ..domain.directory import DirectoryUser
from ..domain.errors import NotFound
from .unit_of_work import DIRECTORY_TOPIC, Tx

MANUAL = "manual"


async def relink_user(tx: Tx, user: DirectoryUser, *, created: bool = False) -> bool:
    """Refresh the actor keys a user answers to and (un)link seen actors; True if links moved.

    A user created after their statements arrived is linked here: that is the late link that
    credits earlier statements, since evidence is kept per actor until then. A user `created`
    in this transaction has no keys or links yet to refresh.
    """
    keys = keys_for_user(user, tx.link_rules)
    changed = False
    if created:
        await tx.store.add_actor_keys(user.id, keys)
    else:
        await tx.store.replace_actor_keys(user.id, keys)
        for actor_key, rule in (await tx.store.links_of(user.id)).items():
            if rule != MANUAL and actor_key not in keys:
                await _unlink(tx, actor_key, user.id)
                changed = True
    for actor_key in await tx.store.unlinked_seen_keys(keys):
        changed = await link_if_unique(tx, actor_key) or changed
    return changed


async def link_if_unique(tx: Tx, actor_key: str) -> bool:
    """Link an actor when exactly one user answers to its key (ambiguity stays unmatched)."""
    candidates = await tx.store.users_for_actor_key(actor_key)
    return await link_unique(tx, actor_key, candidates) is not None


async def link_unique(
    tx: Tx, actor_key: str, candidates: Sequence[tuple[str, str]]
) -> tuple[str, str] | None:
    """Link an actor to the one user among `candidates` (user id, rule) answering to its key;
    returns the link made, or None when there is none or several."""
    if len({user_id for user_id, _ in candidates}) != 1:
        return None
    user_id, rule = candidates[0]
    await _link(tx, actor_key, user_id, rule)
    return user_id, rule


async def link_manually(tx: Tx, actor_key: str, user_id: str) -> str | None:
    """An administrator's link; returns the user it replaced, if any."""
    if await tx.store.get_user(user_id) is None:
        raise NotFound(f"user {user_id!r} not found")
    existing = await tx.store.get_link(actor_key)
    if existing is not None and existing[0] != user_id:
        await _unlink(tx, actor_key, existing[0])
    await _link(tx, actor_key, user_id, MANUAL)
    return existing[0] if existing is not None and existing[0] != user_id else None


async def unlink(tx: Tx, actor_key: str) -> str:
    existing = await tx.store.get_link(actor_key)
    if existing is None:
        raise NotFound(f"actor {actor_key!r} is not linked")
    await _unlink(tx, actor_key, existing[0])
    return existing[0]


async def unmatched(tx: Tx, limit: int, offset: int) -> dict[str, Any]:
    total, rows = await tx.store.unmatched_actors(limit, offset)
    return {"total": total, "actors": rows}


async def _link(tx: Tx, actor_key: str, user_id: str, rule: str) -> None:
    await tx.store.save_link(actor_key, user_id, rule, tx.now)
    data = {"user_id": user_id, "actor": actor_key}
    tx.publish(DIRECTORY_TOPIC, "identity.actor.linked", user_id, data, subject=actor_key)


async def _unlink(tx: Tx, actor_key: str, user_id: str) -> None:
    await tx.store.delete_link(actor_key)
    data = {"user_id": user_id, "actor": actor_key}
    tx.publish(DIRECTORY_TOPIC, "identity.actor.unlinked", user_id, data, subject=actor_key)
