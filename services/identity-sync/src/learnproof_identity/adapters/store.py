"""All SQL of identity-sync: one Store per transaction, on the connection it is given."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from learnproof_events import outbox
from learnproof_events.envelope import Event

from ..domain.compliance import Evidence, Snapshot, Status
from ..domain.errors import UniquenessConflict
from .tables import Tables

# Ids per IN list (well under SQLite's bound-parameter limit).
_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ResourceRow:
    """A stored SCIM user or group."""

    id: str
    document: dict[str, Any]
    version: int
    created: datetime
    last_modified: datetime
    role_changed_at: datetime | None = None


@dataclass(slots=True)
class ActorSighting:
    """Statements of one actor in a batch: the first actor object, how many, first and last."""

    actor: dict[str, Any]
    count: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class StateRow:
    """The stored compliance state of one (user, requirement)."""

    requirement_id: str
    assigned_at: datetime
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One recorded transition (compliance or entitlement)."""

    key: str
    kind: str
    status: str | None
    effective_at: datetime
    recorded_at: datetime
    evidence: list[str]


class Store:
    """Reads and writes the identity-sync tables inside the caller's transaction."""

    def __init__(self, conn: AsyncConnection, tables: Tables) -> None:
        self.conn = conn
        self.t = tables

    # --- outbox ------------------------------------------------------------------------------

    async def emit(self, events: Sequence[Event]) -> None:
        """Append events to this service's outbox in the current transaction."""
        if events:
            await outbox.append(self.conn, self.t.outbox, events)

    # --- users -------------------------------------------------------------------------------

    async def insert_user(
        self, user_id: str, user_name: str, document: dict[str, Any], now: datetime
    ) -> ResourceRow:
        """Insert a user and return the row as stored (one round trip: the unique index on
        userName is the uniqueness check)."""
        values = {
            "id": user_id,
            "user_name_key": user_name.casefold(),
            "external_id": document.get("externalId"),
            "active": document.get("active") is not False,
            "document": document,
            "version": 1,
            "created": now,
            "last_modified": now,
            "role_changed_at": now,
        }
        try:
            row = (await self.conn.execute(_insert_user(self.t.users), values)).one()
        except sa.exc.IntegrityError as exc:
            raise UniquenessConflict(f"userName {user_name!r} is already taken") from exc
        return ResourceRow(*row)

    async def update_user(
        self,
        row: ResourceRow,
        user_name: str,
        document: dict[str, Any],
        now: datetime,
        role_changed: bool,
    ) -> ResourceRow | None:
        """Update a user and return the row as stored (None if it is gone)."""
        values: dict[str, Any] = {
            "user_name_key": user_name.casefold(),
            "external_id": document.get("externalId"),
            "active": document.get("active") is not False,
            "document": document,
            "version": row.version + 1,
            "last_modified": now,
        }
        if role_changed:
            values["role_changed_at"] = now
        try:
            updated = (
                await self.conn.execute(
                    self.t.users.update()
                    .where(self.t.users.c.id == row.id)
                    .values(**values)
                    .returning(*self._user_columns())
                )
            ).first()
        except sa.exc.IntegrityError as exc:
            raise UniquenessConflict(f"userName {user_name!r} is already taken") from exc
        return ResourceRow(*updated) if updated is not None else None

    @staticmethod
    def _next_ordinal(table: sa.Table) -> sa.ScalarSelect[int]:
        # Ties under concurrent inserts only cost paging order, which then falls back to id.
        return sa.select(sa.func.coalesce(sa.func.max(table.c.ordinal), 0) + 1).scalar_subquery()

    def _user_columns(self) -> tuple[sa.Column[Any], ...]:
        return _user_columns(self.t.users)

    async def get_user(self, user_id: str) -> ResourceRow | None:
        query = sa.select(*self._user_columns()).where(self.t.users.c.id == user_id)
        row = (await self.conn.execute(query)).first()
        return ResourceRow(*row) if row is not None else None

    async def lock_users(self, user_ids: Sequence[str]) -> dict[str, ResourceRow]:
        """The existing users among `user_ids`, locked in id order.

        The lock serialises evaluations of a user across replicas (no-op on SQLite).
        """
        if not user_ids:
            return {}
        u = self.t.users
        query = (
            sa.select(*self._user_columns())
            .where(u.c.id.in_(user_ids))
            .order_by(u.c.id)
            .with_for_update()
        )
        return {r[0]: ResourceRow(*r) for r in (await self.conn.execute(query)).all()}

    async def list_users(self, hint: tuple[str, str] | None = None) -> list[ResourceRow]:
        u = self.t.users
        query = sa.select(*self._user_columns()).order_by(u.c.ordinal, u.c.id)
        if hint is not None:
            column, value = hint
            if column.lower() == "username":
                query = query.where(u.c.user_name_key == value.casefold())
            elif column.lower() == "externalid":
                query = query.where(u.c.external_id == value)
            elif column.lower() == "id":
                query = query.where(u.c.id == value)
        return [ResourceRow(*r) for r in (await self.conn.execute(query)).all()]

    async def find_user_ids(self, identifier: str) -> list[str]:
        """Users whose id, userName or externalId is `identifier` (gate subjects)."""
        u = self.t.users
        query = sa.select(u.c.id).where(
            sa.or_(
                u.c.id == identifier,
                u.c.user_name_key == identifier.casefold(),
                u.c.external_id == identifier,
            )
        )
        return [r[0] for r in (await self.conn.execute(query)).all()]

    async def delete_user(self, user_id: str) -> None:
        await self.conn.execute(
            sa.delete(self.t.members).where(self.t.members.c.user_id == user_id)
        )
        await self.conn.execute(
            sa.delete(self.t.actor_keys).where(self.t.actor_keys.c.user_id == user_id)
        )
        await self.conn.execute(sa.delete(self.t.users).where(self.t.users.c.id == user_id))

    async def all_user_ids(self) -> list[str]:
        return [r[0] for r in (await self.conn.execute(sa.select(self.t.users.c.id))).all()]

    # --- groups ------------------------------------------------------------------------------

    async def insert_group(self, group_id: str, document: dict[str, Any], now: datetime) -> None:
        await self.conn.execute(
            self.t.groups.insert().values(
                id=group_id,
                ordinal=self._next_ordinal(self.t.groups),
                display_name=document.get("displayName", ""),
                external_id=document.get("externalId"),
                document=document,
                version=1,
                created=now,
                last_modified=now,
            )
        )

    async def update_group(self, row: ResourceRow, document: dict[str, Any], now: datetime) -> None:
        await self.conn.execute(
            self.t.groups.update()
            .where(self.t.groups.c.id == row.id)
            .values(
                display_name=document.get("displayName", ""),
                external_id=document.get("externalId"),
                document=document,
                version=row.version + 1,
                last_modified=now,
            )
        )

    async def get_group(self, group_id: str) -> ResourceRow | None:
        g = self.t.groups
        query = sa.select(g.c.id, g.c.document, g.c.version, g.c.created, g.c.last_modified).where(
            g.c.id == group_id
        )
        row = (await self.conn.execute(query)).first()
        return ResourceRow(*row) if row is not None else None

    async def list_groups(self, hint: tuple[str, str] | None = None) -> list[ResourceRow]:
        g = self.t.groups
        query = sa.select(
            g.c.id, g.c.document, g.c.version, g.c.created, g.c.last_modified
        ).order_by(g.c.ordinal, g.c.id)
        if hint is not None:
            column, value = hint
            if column.lower() == "displayname":
                query = query.where(sa.func.lower(g.c.display_name) == value.lower())
            elif column.lower() == "externalid":
                query = query.where(g.c.external_id == value)
            elif column.lower() == "id":
                query = query.where(g.c.id == value)
        return [ResourceRow(*r) for r in (await self.conn.execute(query)).all()]

    async def delete_group(self, group_id: str) -> None:
        await self.conn.execute(
            sa.delete(self.t.members).where(self.t.members.c.group_id == group_id)
        )
        await self.conn.execute(sa.delete(self.t.groups).where(self.t.groups.c.id == group_id))

    async def members_of(self, group_ids: Sequence[str]) -> dict[str, list[str]]:
        """Member user ids per group."""
        rows = await self.member_rows(group_ids)
        return {g: [user_id for user_id, _ in members] for g, members in rows.items()}

    async def member_rows(
        self, group_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, str | None]]]:
        """(user id, display) per group, in the order they were added."""
        if not group_ids:
            return {}
        m = self.t.members
        query = (
            sa.select(m.c.group_id, m.c.user_id, m.c.display)
            .where(m.c.group_id.in_(group_ids))
            .order_by(m.c.added_at, m.c.user_id)
        )
        result: dict[str, list[tuple[str, str | None]]] = {g: [] for g in group_ids}
        for group_id, user_id, display in (await self.conn.execute(query)).all():
            result[group_id].append((user_id, display))
        return result

    async def add_members(
        self, group_id: str, members: Mapping[str, str | None], now: datetime
    ) -> None:
        rows = [
            {"group_id": group_id, "user_id": u, "display": d, "added_at": now}
            for u, d in members.items()
        ]
        if rows:
            await self.conn.execute(self.t.members.insert(), rows)

    async def set_member_display(self, group_id: str, user_id: str, display: str | None) -> None:
        m = self.t.members
        await self.conn.execute(
            m.update()
            .where(m.c.group_id == group_id, m.c.user_id == user_id)
            .values(display=display)
        )

    async def remove_members(self, group_id: str, user_ids: Iterable[str]) -> None:
        ids = list(user_ids)
        if ids:
            m = self.t.members
            await self.conn.execute(
                sa.delete(m).where(m.c.group_id == group_id, m.c.user_id.in_(ids))
            )

    async def groups_of(self, user_id: str) -> list[tuple[str, str]]:
        """(group id, displayName) of every group the user belongs to."""
        return (await self.groups_of_users([user_id]))[user_id]

    async def groups_of_users(self, user_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """groups_of for several users at once (every id gets a list)."""
        result: dict[str, list[tuple[str, str]]] = {u: [] for u in user_ids}
        if not user_ids:
            return result
        m, g = self.t.members, self.t.groups
        query = (
            sa.select(m.c.user_id, g.c.id, g.c.display_name)
            .join(m, m.c.group_id == g.c.id)
            .where(m.c.user_id.in_(user_ids))
            .order_by(g.c.display_name)
        )
        for user_id, group_id, name in (await self.conn.execute(query)).all():
            result[user_id].append((group_id, name))
        return result

    async def existing_user_ids(self, user_ids: Iterable[str]) -> set[str]:
        ids = list(user_ids)
        if not ids:
            return set()
        query = sa.select(self.t.users.c.id).where(self.t.users.c.id.in_(ids))
        return {r[0] for r in (await self.conn.execute(query)).all()}

    # --- actors ------------------------------------------------------------------------------

    async def replace_actor_keys(self, user_id: str, keys: Mapping[str, str]) -> None:
        k = self.t.actor_keys
        await self.conn.execute(sa.delete(k).where(k.c.user_id == user_id))
        await self.add_actor_keys(user_id, keys)

    async def add_actor_keys(self, user_id: str, keys: Mapping[str, str]) -> None:
        """Actor keys of a user that has none yet (one created in this transaction)."""
        k = self.t.actor_keys
        rows = [{"actor_key": key, "user_id": user_id, "rule": rule} for key, rule in keys.items()]
        if rows:
            await self.conn.execute(k.insert(), rows)

    async def users_for_actor_key(self, actor_key: str) -> list[tuple[str, str]]:
        """(user id, rule) of every active user an actor key points to."""
        return (await self.users_for_actor_keys([actor_key]))[actor_key]

    async def users_for_actor_keys(
        self, actor_keys: Sequence[str]
    ) -> dict[str, list[tuple[str, str]]]:
        """users_for_actor_key for several keys at once (every key gets a list)."""
        result: dict[str, list[tuple[str, str]]] = {key: [] for key in actor_keys}
        if not actor_keys:
            return result
        k, u = self.t.actor_keys, self.t.users
        query = (
            sa.select(k.c.actor_key, k.c.user_id, k.c.rule)
            .join(u, u.c.id == k.c.user_id)
            .where(k.c.actor_key.in_(actor_keys))
        )
        for key, user_id, rule in (await self.conn.execute(query)).all():
            result[key].append((user_id, rule))
        return result

    async def get_link(self, actor_key: str) -> tuple[str, str] | None:
        return (await self.links_for([actor_key])).get(actor_key)

    async def links_for(self, actor_keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """(user id, rule) of each linked key among `actor_keys`."""
        wanted = list(actor_keys)
        if not wanted:
            return {}
        lk = self.t.links
        query = sa.select(lk.c.actor_key, lk.c.user_id, lk.c.rule).where(lk.c.actor_key.in_(wanted))
        return {r[0]: (r[1], r[2]) for r in (await self.conn.execute(query)).all()}

    async def links_of(self, user_id: str) -> dict[str, str]:
        lk = self.t.links
        query = sa.select(lk.c.actor_key, lk.c.rule).where(lk.c.user_id == user_id)
        return {r[0]: r[1] for r in (await self.conn.execute(query)).all()}

    async def save_link(self, actor_key: str, user_id: str, rule: str, now: datetime) -> None:
        lk = self.t.links
        await self.conn.execute(sa.delete(lk).where(lk.c.actor_key == actor_key))
        await self.conn.execute(
            lk.insert().values(actor_key=actor_key, user_id=user_id, rule=rule, linked_at=now)
        )

    async def delete_link(self, actor_key: str) -> None:
        await self.conn.execute(
            sa.delete(self.t.links).where(self.t.links.c.actor_key == actor_key)
        )

    async def unlinked_seen_keys(self, keys: Iterable[str]) -> list[str]:
        """The keys among `keys` of actors seen in statements but linked to no user."""
        wanted = list(keys)
        if not wanted:
            return []
        query = _unlinked_seen(self.t.actors, self.t.links)
        return [r[0] for r in (await self.conn.execute(query, {"keys": wanted})).all()]

    async def record_actors(self, seen: Mapping[str, ActorSighting]) -> None:
        """Count statements per actor: bump the ones known, insert the new ones."""
        if not seen:
            return
        a = self.t.actors
        known: set[str] = set()
        keys = list(seen)
        for start in range(0, len(keys), _CHUNK):
            query = sa.select(a.c.actor_key).where(a.c.actor_key.in_(keys[start : start + _CHUNK]))
            known.update(r[0] for r in (await self.conn.execute(query)).all())
        bumps = [
            {"key": key, "n": s.count, "at": s.last_seen} for key, s in seen.items() if key in known
        ]
        if bumps:
            await self.conn.execute(
                a.update()
                .where(a.c.actor_key == sa.bindparam("key"))
                .values(
                    statement_count=a.c.statement_count + sa.bindparam("n"),
                    last_seen=sa.bindparam("at"),
                ),
                bumps,
            )
        fresh = [
            {
                "actor_key": key,
                "actor": s.actor,
                "statement_count": s.count,
                "first_seen": s.first_seen,
                "last_seen": s.last_seen,
            }
            for key, s in seen.items()
            if key not in known
        ]
        if fresh:
            await self.conn.execute(a.insert(), fresh)

    async def unmatched_actors(self, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
        a, lk = self.t.actors, self.t.links
        unlinked = sa.not_(sa.exists().where(lk.c.actor_key == a.c.actor_key))
        total = (
            await self.conn.execute(sa.select(sa.func.count()).select_from(a).where(unlinked))
        ).scalar_one()
        query = (
            sa.select(a.c.actor_key, a.c.actor, a.c.statement_count, a.c.first_seen, a.c.last_seen)
            .where(unlinked)
            .order_by(a.c.statement_count.desc(), a.c.actor_key)
            .limit(limit)
            .offset(offset)
        )
        rows = [
            {
                "actor_key": r[0],
                "actor": r[1],
                "statement_count": r[2],
                "first_seen": r[3].isoformat(),
                "last_seen": r[4].isoformat(),
            }
            for r in (await self.conn.execute(query)).all()
        ]
        return int(total), rows

    # --- evidence ----------------------------------------------------------------------------

    async def insert_new_evidence(self, items: Sequence[tuple[str, Evidence]]) -> list[str]:
        """Insert (actor key, evidence) pairs whose statement is not stored yet (the first of
        repeats wins); returns the actor keys of those inserted."""
        e = self.t.evidence
        ids = list({evidence.statement_id for _, evidence in items})
        known: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            query = sa.select(e.c.statement_id).where(
                e.c.statement_id.in_(ids[start : start + _CHUNK])
            )
            known.update(r[0] for r in (await self.conn.execute(query)).all())
        rows: list[dict[str, Any]] = []
        inserted: list[str] = []
        for actor_key, evidence in items:
            if evidence.statement_id in known:
                continue
            known.add(evidence.statement_id)
            inserted.append(actor_key)
            rows.append(
                {
                    "statement_id": evidence.statement_id,
                    "actor_key": actor_key,
                    "verb": evidence.verb,
                    "activity_iri": evidence.activity_iri,
                    "registration": evidence.registration,
                    "timestamp": evidence.timestamp,
                }
            )
        if rows:
            await self.conn.execute(e.insert(), rows)
        return inserted

    async def void_evidence(self, statement_id: str, voided_at: datetime) -> str | None:
        """Mark evidence voided; returns its actor key when the statement was evidence."""
        e = self.t.evidence
        row = (
            await self.conn.execute(
                sa.select(e.c.actor_key).where(e.c.statement_id == statement_id)
            )
        ).first()
        if row is None:
            return None
        await self.conn.execute(
            e.update().where(e.c.statement_id == statement_id).values(voided_at=voided_at)
        )
        return str(row[0])

    async def evidence_of_user(self, user_id: str) -> list[Evidence]:
        return (await self.evidence_of_users([user_id]))[user_id]

    async def evidence_of_users(self, user_ids: Sequence[str]) -> dict[str, list[Evidence]]:
        """Evidence of the actors linked to each user (every id gets a list)."""
        result: dict[str, list[Evidence]] = {u: [] for u in user_ids}
        if not user_ids:
            return result
        e, lk = self.t.evidence, self.t.links
        query = (
            sa.select(
                lk.c.user_id,
                e.c.statement_id,
                e.c.verb,
                e.c.activity_iri,
                e.c.registration,
                e.c.timestamp,
                e.c.voided_at,
            )
            .join(lk, lk.c.actor_key == e.c.actor_key)
            .where(lk.c.user_id.in_(user_ids))
        )
        for r in (await self.conn.execute(query)).all():
            result[r[0]].append(Evidence(r[1], r[2], r[3], r[4], r[5], voided=r[6] is not None))
        return result

    # --- requirements and entitlements ------------------------------------------------------

    async def upsert_definition(
        self, kind: str, item_id: str, definition: dict[str, Any], source: str
    ) -> bool:
        """Insert or update; returns False when the stored definition was already this one."""
        table = self.t.requirements if kind == "requirement" else self.t.entitlements
        found = (
            await self.conn.execute(
                sa.select(table.c.definition, table.c.source).where(table.c.id == item_id)
            )
        ).first()
        if found is not None and dict(found[0]) == definition and found[1] == source:
            return False
        if found is None:
            await self.conn.execute(
                table.insert().values(id=item_id, definition=definition, source=source)
            )
        else:
            await self.conn.execute(
                table.update()
                .where(table.c.id == item_id)
                .values(definition=definition, source=source)
            )
        return True

    async def definition_ids(self, kind: str, source: str) -> list[str]:
        table = self.t.requirements if kind == "requirement" else self.t.entitlements
        query = sa.select(table.c.id).where(table.c.source == source)
        return [r[0] for r in (await self.conn.execute(query)).all()]

    async def delete_definition(self, kind: str, item_id: str) -> bool:
        table = self.t.requirements if kind == "requirement" else self.t.entitlements
        result = await self.conn.execute(sa.delete(table).where(table.c.id == item_id))
        return bool(result.rowcount)

    async def definitions(self, kind: str) -> list[dict[str, Any]]:
        table = self.t.requirements if kind == "requirement" else self.t.entitlements
        query = sa.select(table.c.definition).order_by(table.c.id)
        return [dict(r[0]) for r in (await self.conn.execute(query)).all()]

    async def catalog_definitions(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every requirement and every entitlement definition (by id), in one round trip."""
        query = _all_definitions(self.t.requirements, self.t.entitlements)
        requirements: list[dict[str, Any]] = []
        entitlements: list[dict[str, Any]] = []
        for kind, _, definition in (await self.conn.execute(query)).all():
            (requirements if kind == "requirement" else entitlements).append(dict(definition))
        return requirements, entitlements

    # --- compliance state --------------------------------------------------------------------

    async def states_of(self, user_id: str) -> dict[str, StateRow]:
        return (await self.states_of_users([user_id]))[user_id]

    async def states_of_users(self, user_ids: Sequence[str]) -> dict[str, dict[str, StateRow]]:
        """Compliance state per requirement of each user (every id gets a dict)."""
        result: dict[str, dict[str, StateRow]] = {u: {} for u in user_ids}
        if not user_ids:
            return result
        c = self.t.compliance
        query = sa.select(
            c.c.user_id,
            c.c.requirement_id,
            c.c.status,
            c.c.assigned_at,
            c.c.effective_at,
            c.c.due_at,
            c.c.satisfied_at,
            c.c.expires_at,
            c.c.evidence,
        ).where(c.c.user_id.in_(user_ids))
        for r in (await self.conn.execute(query)).all():
            snapshot = Snapshot(Status(r[2]), r[4], r[5], r[6], r[7], tuple(r[8]))
            result[r[0]][r[1]] = StateRow(r[1], r[3], snapshot)
        return result

    async def save_state(
        self,
        user_id: str,
        requirement_id: str,
        assigned_at: datetime,
        snapshot: Snapshot,
        now: datetime,
        *,
        replace: bool = True,
    ) -> None:
        """Write the state of (user, requirement); `replace=False` when the caller knows there
        is none yet (read under the user's lock)."""
        c = self.t.compliance
        if replace:
            await self.delete_state(user_id, requirement_id)
        await self.conn.execute(
            c.insert().values(
                user_id=user_id,
                requirement_id=requirement_id,
                status=snapshot.status.value,
                assigned_at=assigned_at,
                effective_at=snapshot.effective_at,
                due_at=snapshot.due_at,
                satisfied_at=snapshot.satisfied_at,
                expires_at=snapshot.expires_at,
                evidence=list(snapshot.evidence),
                updated_at=now,
            )
        )

    async def delete_state(self, user_id: str, requirement_id: str) -> None:
        c = self.t.compliance
        await self.conn.execute(
            sa.delete(c).where(c.c.user_id == user_id, c.c.requirement_id == requirement_id)
        )

    async def record_compliance(
        self,
        user_id: str,
        requirement_id: str,
        kind: str,
        status: str | None,
        effective_at: datetime,
        evidence: Sequence[str],
        now: datetime,
    ) -> None:
        await self.conn.execute(
            self.t.compliance_history.insert().values(
                user_id=user_id,
                requirement_id=requirement_id,
                kind=kind,
                status=status,
                effective_at=effective_at,
                recorded_at=now,
                evidence=list(evidence),
            )
        )

    async def users_due_for_tick(self, now: datetime, horizon: datetime) -> list[str]:
        """Users whose state can change with time alone (due dates, expiries, grace ends)."""
        c, g = self.t.compliance, self.t.grants
        query = sa.select(c.c.user_id).where(
            sa.or_(
                sa.and_(c.c.status == Status.assigned.value, c.c.due_at <= now),
                sa.and_(
                    c.c.status.in_([Status.satisfied.value, Status.expiring.value]),
                    c.c.expires_at.is_not(None),
                    c.c.expires_at <= horizon,
                ),
                sa.and_(
                    c.c.status.in_([Status.assigned.value, Status.overdue.value]),
                    sa.exists().where(g.c.user_id == c.c.user_id),
                ),
            )
        )
        return sorted({r[0] for r in (await self.conn.execute(query)).all()})

    async def compliance_table(self, requirement_id: str | None) -> list[dict[str, Any]]:
        c = self.t.compliance
        query = sa.select(c).order_by(c.c.requirement_id, c.c.user_id)
        if requirement_id is not None:
            query = query.where(c.c.requirement_id == requirement_id)
        return [dict(r._mapping) for r in (await self.conn.execute(query)).all()]

    # --- entitlements ------------------------------------------------------------------------

    async def grants_of(self, user_id: str) -> dict[str, list[str]]:
        return (await self.grants_of_users([user_id]))[user_id]

    async def grants_of_users(self, user_ids: Sequence[str]) -> dict[str, dict[str, list[str]]]:
        """Evidence per held entitlement of each user (every id gets a dict)."""
        result: dict[str, dict[str, list[str]]] = {u: {} for u in user_ids}
        if not user_ids:
            return result
        g = self.t.grants
        query = sa.select(g.c.user_id, g.c.entitlement_id, g.c.evidence).where(
            g.c.user_id.in_(user_ids)
        )
        for user_id, entitlement_id, evidence in (await self.conn.execute(query)).all():
            result[user_id][entitlement_id] = list(evidence)
        return result

    async def save_grant(
        self,
        user_id: str,
        entitlement_id: str,
        granted: bool,
        evidence: Sequence[str],
        at: datetime,
    ) -> None:
        g = self.t.grants
        await self.conn.execute(
            sa.delete(g).where(g.c.user_id == user_id, g.c.entitlement_id == entitlement_id)
        )
        if granted:
            await self.conn.execute(
                g.insert().values(
                    user_id=user_id,
                    entitlement_id=entitlement_id,
                    granted_at=at,
                    evidence=list(evidence),
                )
            )

    async def record_grant(
        self,
        user_id: str,
        entitlement_id: str,
        granted: bool,
        reason: str,
        effective_at: datetime,
        evidence: Sequence[str],
        now: datetime,
    ) -> None:
        await self.conn.execute(
            self.t.grant_history.insert().values(
                user_id=user_id,
                entitlement_id=entitlement_id,
                granted=granted,
                reason=reason,
                effective_at=effective_at,
                recorded_at=now,
                evidence=list(evidence),
            )
        )

    async def grant_as_of(
        self, user_id: str, entitlement_id: str, at: datetime
    ) -> HistoryRow | None:
        """The last recorded grant/revoke that had taken effect by `at`.

        Ordered by recording sequence, not effective time: a late link that credits an old
        statement is recorded after an overdue, and what we know now wins.
        """
        h = self.t.grant_history
        query = (
            sa.select(h.c.granted, h.c.reason, h.c.effective_at, h.c.recorded_at, h.c.evidence)
            .where(
                h.c.user_id == user_id, h.c.entitlement_id == entitlement_id, h.c.effective_at <= at
            )
            .order_by(h.c.seq.desc())
            .limit(1)
        )
        r = (await self.conn.execute(query)).first()
        if r is None:
            return None
        kind = "granted" if r[0] else "revoked"
        return HistoryRow(entitlement_id, kind, r[1], r[2], r[3], list(r[4]))

    async def compliance_as_of(
        self, user_id: str, requirement_id: str, at: datetime
    ) -> HistoryRow | None:
        """The last recorded compliance transition that had taken effect by `at`."""
        h = self.t.compliance_history
        query = (
            sa.select(h.c.kind, h.c.status, h.c.effective_at, h.c.recorded_at, h.c.evidence)
            .where(
                h.c.user_id == user_id,
                h.c.requirement_id == requirement_id,
                h.c.effective_at <= at,
            )
            .order_by(h.c.seq.desc())
            .limit(1)
        )
        r = (await self.conn.execute(query)).first()
        if r is None:
            return None
        return HistoryRow(requirement_id, r[0], r[1], r[2], r[3], list(r[4]))

    async def compliance_history_of(self, user_id: str) -> list[dict[str, Any]]:
        h = self.t.compliance_history
        query = sa.select(h).where(h.c.user_id == user_id).order_by(h.c.seq)
        return [dict(r._mapping) for r in (await self.conn.execute(query)).all()]

    async def compliance_at(self, at: datetime, requirement_id: str | None) -> list[HistoryRow]:
        """Every (user, requirement)'s last recorded transition effective by `at`.

        `HistoryRow.key` is "<user id>|<requirement id>"; unassigned pairs have status None.
        """
        h = self.t.compliance_history
        inner = sa.alias(h, "later")
        latest = (
            sa.select(sa.func.max(inner.c.seq))
            .where(
                inner.c.user_id == h.c.user_id,
                inner.c.requirement_id == h.c.requirement_id,
                inner.c.effective_at <= at,
            )
            .scalar_subquery()
        )
        query = (
            sa.select(
                h.c.user_id,
                h.c.requirement_id,
                h.c.kind,
                h.c.status,
                h.c.effective_at,
                h.c.recorded_at,
                h.c.evidence,
            )
            .where(h.c.seq == latest)
            .order_by(h.c.requirement_id, h.c.user_id)
        )
        if requirement_id is not None:
            query = query.where(h.c.requirement_id == requirement_id)
        return [
            HistoryRow(f"{r[0]}|{r[1]}", r[2], r[3], r[4], r[5], list(r[6]))
            for r in (await self.conn.execute(query)).all()
        ]

    async def holders_of(self, entitlement_id: str) -> list[dict[str, Any]]:
        """Users holding an entitlement now, with userName for IAM systems that poll."""
        g, u = self.t.grants, self.t.users
        query = (
            sa.select(g.c.user_id, u.c.document, g.c.granted_at, g.c.evidence)
            .join(u, u.c.id == g.c.user_id)
            .where(g.c.entitlement_id == entitlement_id)
            .order_by(g.c.granted_at, g.c.user_id)
        )
        return [
            {
                "user_id": r[0],
                "userName": r[1].get("userName"),
                "externalId": r[1].get("externalId"),
                "granted_at": r[2].isoformat(),
                "evidence": list(r[3]),
            }
            for r in (await self.conn.execute(query)).all()
        ]


# Statements on the hot paths (SCIM create, every evaluation) are composed once per table:
# composing them costs more CPU than sending them.


def _user_columns(users: sa.Table) -> tuple[sa.Column[Any], ...]:
    c = users.c
    return (c.id, c.document, c.version, c.created, c.last_modified, c.role_changed_at)


@functools.cache
def _insert_user(users: sa.Table) -> sa.Insert:
    return (
        users.insert().values(ordinal=Store._next_ordinal(users)).returning(*_user_columns(users))
    )


@functools.cache
def _unlinked_seen(actors: sa.Table, links: sa.Table) -> sa.Select[Any]:
    return sa.select(actors.c.actor_key).where(
        actors.c.actor_key.in_(sa.bindparam("keys", expanding=True)),
        sa.not_(sa.exists().where(links.c.actor_key == actors.c.actor_key)),
    )


@functools.cache
def _all_definitions(requirements: sa.Table, entitlements: sa.Table) -> sa.CompoundSelect[Any]:
    r, e = requirements, entitlements
    return sa.union_all(
        sa.select(sa.literal_column("'requirement'").label("kind"), r.c.id, r.c.definition),
        sa.select(sa.literal_column("'entitlement'").label("kind"), e.c.id, e.c.definition),
    ).order_by("kind", "id")
