"""Read queries over the read-model tables: facts by filter, keyset pages, directory lookups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from learnproof_analytics.adapters import tables as t
from learnproof_analytics.adapters.schema import tracking
from learnproof_analytics.domain.directory import DirectoryGroup, DirectoryUser, LinkedUser
from learnproof_analytics.domain.facts import StatementFact
from learnproof_analytics.domain.filters import FactFilter

F = t.statement_facts.c
_IN_CHUNK = 500


def _conditions(flt: FactFilter) -> list[sa.ColumnElement[bool]]:
    links, users, members = t.actor_links.c, t.directory_users.c, t.group_members.c
    where: list[sa.ColumnElement[bool]] = []
    if flt.since is not None:
        where.append(F.timestamp >= flt.since)
    if flt.until is not None:
        where.append(F.timestamp < flt.until)
    if flt.activity is not None:
        where.append(F.activity_id == flt.activity)
    if flt.course is not None:
        ctx = t.fact_context.c
        in_context = sa.select(ctx.statement_id).where(
            ctx.activity_id == flt.course, ctx.store == F.store, ctx.statement_id == F.statement_id
        )
        where.append(sa.or_(F.activity_id == flt.course, in_context.exists()))
    if flt.registration is not None:
        where.append(F.registration == flt.registration.lower())
    if flt.store is not None:
        where.append(F.store == flt.store)
    if flt.actor is not None:
        where.append(F.actor == flt.actor)
    if flt.group is not None:
        in_group = (
            sa.select(links.actor)
            .join(t.group_members, members.user_id == links.user_id)
            .where(members.group_id == flt.group)
        )
        where.append(F.actor.in_(in_group))
    for column, value in ((users.manager_id, flt.manager), (users.department, flt.department)):
        if value is not None:
            linked = (
                sa.select(links.actor)
                .join(t.directory_users, users.id == links.user_id)
                .where(column == value)
            )
            where.append(F.actor.in_(linked))
    return where


def _fact(row: Any, context: dict[tuple[str, str], list[str]]) -> StatementFact:
    return StatementFact(
        statement_id=row.statement_id,
        store=row.store,
        actor=row.actor,
        actor_name=row.actor_name,
        verb=row.verb,
        verb_kind=row.verb_kind,
        activity_id=row.activity_id,
        activity_type=row.activity_type,
        registration=row.registration,
        session_id=row.session_id,
        timestamp=row.timestamp,
        score_scaled=row.score_scaled,
        success=row.success,
        completion=row.completion,
        duration_s=row.duration_s,
        assessment_type=row.assessment_type,
        video_progress=row.video_progress,
        context_activities=tuple(context.get((row.store, row.statement_id), ())),
    )


class SqlReadModel:
    """Queries of the read models on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def facts(
        self,
        flt: FactFilter,
        actors: Sequence[str] | None = None,
        activities: Sequence[str] | None = None,
    ) -> list[StatementFact]:
        """Facts matching the filter, optionally restricted to some actors or activities."""
        async with self._engine.connect() as conn:
            if actors is not None:
                return await self._facts(conn, flt, F.actor, actors)
            if activities is not None:
                return await self._facts(conn, flt, F.activity_id, activities)
            return await self._facts(conn, flt, None, ())

    async def _facts(
        self,
        conn: AsyncConnection,
        flt: FactFilter,
        column: sa.ColumnElement[str] | None,
        values: Sequence[str],
    ) -> list[StatementFact]:
        base = sa.select(t.statement_facts).where(*_conditions(flt))
        queries = (
            [base]
            if column is None
            else [
                base.where(column.in_(list(values[i : i + _IN_CHUNK])))
                for i in range(0, len(values), _IN_CHUNK)
            ]
        )
        rows: list[Any] = []
        for query in queries:
            rows.extend((await conn.execute(query)).all())
        context = await self._context(conn, [(r.store, r.statement_id) for r in rows])
        return [_fact(r, context) for r in rows]

    async def _context(
        self, conn: AsyncConnection, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], list[str]]:
        ctx = t.fact_context.c
        found: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        ids = sorted({k[1] for k in keys})
        for start in range(0, len(ids), _IN_CHUNK):
            query = sa.select(ctx.store, ctx.statement_id, ctx.position, ctx.activity_id).where(
                ctx.statement_id.in_(ids[start : start + _IN_CHUNK])
            )
            for r in await conn.execute(query):
                found[(r.store, r.statement_id)].append((r.position, r.activity_id))
        return {k: [a for _, a in sorted(v)] for k, v in found.items()}

    async def page_keys(self, flt: FactFilter, by: str, after: str | None, limit: int) -> list[str]:
        """One page of distinct actor keys or activity ids with facts, in key order."""
        column = F.actor if by == "actor" else F.activity_id
        query = sa.select(column).where(*_conditions(flt)).distinct().order_by(column)
        if after is not None:
            query = query.where(column > after)
        async with self._engine.connect() as conn:
            return list((await conn.execute(query.limit(limit))).scalars())

    async def linked_users(self, actors: Sequence[str]) -> dict[str, list[LinkedUser]]:
        """The directory users (with their groups) each actor key is linked to."""
        links, users, members = t.actor_links.c, t.directory_users.c, t.group_members.c
        result: dict[str, list[LinkedUser]] = defaultdict(list)
        async with self._engine.connect() as conn:
            for start in range(0, len(actors), _IN_CHUNK):
                chunk = list(actors[start : start + _IN_CHUNK])
                rows = await conn.execute(
                    sa.select(links.actor, t.directory_users)
                    .join(t.directory_users, users.id == links.user_id)
                    .where(links.actor.in_(chunk))
                    .order_by(links.actor, users.id)
                )
                found = rows.all()
                user_ids = sorted({r.id for r in found})
                groups: dict[str, list[str]] = defaultdict(list)
                if user_ids:
                    member_rows = await conn.execute(
                        sa.select(members.user_id, members.group_id)
                        .where(members.user_id.in_(user_ids))
                        .order_by(members.group_id)
                    )
                    for m in member_rows:
                        groups[m.user_id].append(m.group_id)
                for r in found:
                    user = DirectoryUser(
                        r.id, r.user_name, r.display_name, r.active, r.department, r.manager_id
                    )
                    result[r.actor].append(LinkedUser(user, tuple(groups[r.id])))
        return result

    async def groups(self) -> list[DirectoryGroup]:
        """Every directory group with its members."""
        g, members = t.directory_groups.c, t.group_members.c
        async with self._engine.connect() as conn:
            group_rows = (await conn.execute(sa.select(g.id, g.display_name).order_by(g.id))).all()
            member_rows = await conn.execute(
                sa.select(members.group_id, members.user_id).order_by(members.user_id)
            )
            by_group: dict[str, list[str]] = defaultdict(list)
            for m in member_rows:
                by_group[m.group_id].append(m.user_id)
        return [DirectoryGroup(r.id, r.display_name, tuple(by_group[r.id])) for r in group_rows]

    async def actor_groups(self) -> dict[str, set[str]]:
        """Group ids of every linked actor key (for cutting figures by group)."""
        links, members = t.actor_links.c, t.group_members.c
        query = sa.select(links.actor, members.group_id).join(
            t.group_members, members.user_id == links.user_id
        )
        result: dict[str, set[str]] = defaultdict(set)
        async with self._engine.connect() as conn:
            for r in await conn.execute(query):
                result[r.actor].add(r.group_id)
        return result

    async def counts(self) -> dict[str, int]:
        """Row counts of the main tables (health and diagnostics)."""
        async with self._engine.connect() as conn:
            return {
                table.name: int(
                    (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
                )
                for table in (t.statement_facts, t.voided_statements, t.skipped_statements)
            }

    async def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every read-model row, sorted: rebuild and incremental runs must dump equal."""
        async with self._engine.connect() as conn:
            return {
                table.name: sorted(
                    (tuple(r) for r in await conn.execute(sa.select(table))), key=repr
                )
                for table in t.READ_MODEL_TABLES
            }

    async def consumer_positions(self) -> list[dict[str, str | int]]:
        """The tracking rows of the analytics consumers."""
        c = tracking.c
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(c.consumer, c.topic, c.partition, c.offset).order_by(
                    c.consumer, c.topic, c.partition
                )
            )
            return [
                {
                    "consumer": r.consumer,
                    "topic": r.topic,
                    "partition": r.partition,
                    "offset": r.offset,
                }
                for r in rows
            ]
