"""Read queries over the read-model tables: facts by filter, keyset pages, directory lookups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from learnproof_analytics.adapters import tables as t
from learnproof_analytics.adapters.schema import tracking
from learnproof_analytics.domain.assessments import POST_MARKERS, PRE_MARKERS
from learnproof_analytics.domain.directory import DirectoryGroup, DirectoryUser, LinkedUser
from learnproof_analytics.domain.engagement import ActivePeriod
from learnproof_analytics.domain.facts import StatementFact
from learnproof_analytics.domain.filters import FactFilter, FactSubset
from learnproof_analytics.domain.vocabulary import ASSESSMENT_ACTIVITY_TYPE

F = t.statement_facts.c
_IN_CHUNK = 500


def _conditions(flt: FactFilter) -> list[sa.ColumnElement[bool]]:
    links, users, members = t.actor_links.c, t.directory_users.c, t.group_members.c
    where: list[sa.ColumnElement[bool]] = []
    if flt.as_of is None:
        where.append(F.voided_at.is_(None))
    else:
        # The state at that moment: what had happened, minus what had been voided by then.
        where.append(F.timestamp <= flt.as_of)
        where.append(sa.or_(F.voided_at.is_(None), F.voided_at > flt.as_of))
    if flt.since is not None:
        where.append(F.timestamp >= flt.since)
    if flt.until is not None:
        where.append(F.timestamp < flt.until)
    if flt.activity is not None:
        where.append(F.activity_id == flt.activity)
    if flt.course is not None:
        # An alias: the context rows query joins fact_context itself, and the subquery must
        # correlate to the fact only.
        ctx = t.fact_context.alias("course_context").c
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


def _subset_conditions(subset: FactSubset) -> list[sa.ColumnElement[bool]]:
    # Narrow in SQL what the domain would discard anyway (it re-checks every fact).
    where: list[sa.ColumnElement[bool]] = []
    if subset.video_only:
        where.append(F.video_progress.is_not(None))
    config = subset.assessments
    if config is not None:
        recognised: list[sa.ColumnElement[bool]] = []
        iris = sorted(config.pretest_activities | config.posttest_activities)
        if iris:
            recognised.append(F.activity_id.in_(iris))
        if config.use_convention:
            recognised.append(
                sa.and_(
                    F.activity_type == ASSESSMENT_ACTIVITY_TYPE,
                    F.assessment_type.in_(sorted(PRE_MARKERS | POST_MARKERS)),
                )
            )
        where.append(F.score_scaled.is_not(None))
        where.append(sa.or_(*recognised) if recognised else sa.false())
    return where


def _period_expression(dialect: str, granularity: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        utc = sa.func.timezone("UTC", F.timestamp)
        unit = "week" if granularity == "week" else "day"  # date_trunc weeks start on Monday
        return sa.cast(sa.func.date_trunc(unit, utc), sa.Date)
    # SQLite stores naive UTC text; 'weekday 0' moves to the coming Sunday, -6 days to its Monday.
    if granularity == "week":
        return sa.func.date(F.timestamp, "weekday 0", "-6 days")
    return sa.func.date(F.timestamp)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# In StatementFact's field order, so a row becomes a fact positionally (attribute access on
# 100,000 rows costs seconds).
_FACT_COLUMNS = (
    F.statement_id,
    F.store,
    F.actor,
    F.actor_name,
    F.verb,
    F.verb_kind,
    F.activity_id,
    F.activity_type,
    F.registration,
    F.session_id,
    F.timestamp,
    F.score_scaled,
    F.success,
    F.completion,
    F.duration_s,
    F.assessment_type,
    F.video_progress,
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
        subset: FactSubset | None = None,
    ) -> list[StatementFact]:
        """Facts matching the filter, optionally restricted to some actors or activities."""
        extra = _subset_conditions(subset) if subset is not None else []
        async with self._engine.connect() as conn:
            if actors is not None:
                return await self._facts(conn, flt, extra, F.actor, actors)
            if activities is not None:
                return await self._facts(conn, flt, extra, F.activity_id, activities)
            return await self._facts(conn, flt, extra, None, ())

    async def _facts(
        self,
        conn: AsyncConnection,
        flt: FactFilter,
        extra: list[sa.ColumnElement[bool]],
        column: sa.ColumnElement[str] | None,
        values: Sequence[str],
    ) -> list[StatementFact]:
        where = [*_conditions(flt), *extra]
        chunks = (
            [where]
            if column is None
            else [
                [*where, column.in_(list(values[i : i + _IN_CHUNK]))]
                for i in range(0, len(values), _IN_CHUNK)
            ]
        )
        ctx = t.fact_context.c
        joined = t.fact_context.join(
            t.statement_facts, sa.and_(F.store == ctx.store, F.statement_id == ctx.statement_id)
        )
        rows: list[tuple[Any, ...]] = []
        context: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        for conditions in chunks:
            result = await conn.execute(sa.select(*_FACT_COLUMNS).where(*conditions))
            rows.extend(tuple(r) for r in result)
            # The context rows of the same facts, by the same conditions: one query, no IN list.
            context_rows = await conn.execute(
                sa.select(ctx.store, ctx.statement_id, ctx.position, ctx.activity_id)
                .select_from(joined)
                .where(*conditions)
            )
            for store, statement_id, position, activity_id in context_rows:
                context[(store, statement_id)].append((position, activity_id))
        ordered = {key: tuple(a for _, a in sorted(v)) for key, v in context.items()}
        return [StatementFact(*(*r, ordered.get((r[1], r[0]), ()))) for r in rows]

    async def active_periods(self, flt: FactFilter, granularity: str) -> list[ActivePeriod]:
        """Distinct actors and statements per UTC day or ISO week, aggregated in SQL.

        Same definition as ``domain.engagement.active_learners``; done here because it needs
        two numbers per period, not every fact.
        """
        period = _period_expression(self._engine.dialect.name, granularity)
        query = (
            sa.select(period.label("period"), sa.func.count(sa.distinct(F.actor)), sa.func.count())
            .where(*_conditions(flt))
            .group_by(period)
            .order_by(period)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [ActivePeriod(_as_date(p), int(learners), int(n)) for p, learners, n in rows]

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

    async def actor_managers(self) -> dict[str, set[str]]:
        """Manager user ids of every linked actor key (for cutting figures by manager)."""
        links, users = t.actor_links.c, t.directory_users.c
        query = (
            sa.select(links.actor, users.manager_id)
            .join(t.directory_users, users.id == links.user_id)
            .where(users.manager_id.is_not(None))
        )
        result: dict[str, set[str]] = defaultdict(set)
        async with self._engine.connect() as conn:
            for r in await conn.execute(query):
                result[r.actor].add(r.manager_id)
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
