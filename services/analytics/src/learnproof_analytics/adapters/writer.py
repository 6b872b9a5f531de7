"""Applies projection changes to the read-model tables inside the consumer's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from learnproof_analytics.adapters import tables as t
from learnproof_analytics.domain.projection import (
    Change,
    DeactivateUser,
    DeleteGroup,
    LinkActor,
    PutFact,
    PutGroup,
    PutUser,
    SkipStatement,
    UnlinkActor,
    VoidStatement,
)

# A voiding without a known time counts as voided at any date.
VOIDED_SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)
# Ids per IN (...) list: well below the bound-parameter limits of both dialects.
_CHUNK = 500


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


async def _insert_ignore(
    conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]
) -> None:
    # executemany: one cached statement and one driver call for the whole run (every round
    # trip through aiosqlite costs a thread hop, so the batch shape is the throughput).
    await conn.execute(_insert(conn, table).on_conflict_do_nothing(), rows)


async def _delete_each(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Delete the rows matching each dict of column values (executemany)."""
    columns = list(rows[0])
    where = [table.c[name] == sa.bindparam(f"b_{name}") for name in columns]
    params = [{f"b_{k}": v for k, v in row.items()} for row in rows]
    await conn.execute(sa.delete(table).where(*where), params)


async def _voided_at(
    conn: AsyncConnection, changes: Sequence[PutFact]
) -> dict[tuple[str, str], datetime]:
    voided = t.voided_statements.c
    ids = sorted({c.fact.statement_id for c in changes})
    found: dict[tuple[str, str], datetime] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = await conn.execute(
            sa.select(voided.store, voided.statement_id, voided.voided_at).where(
                voided.statement_id.in_(ids[start : start + _CHUNK])
            )
        )
        for r in rows:
            found[(r.store, r.statement_id)] = r.voided_at or VOIDED_SINCE_EVER
    return found


async def _put_facts(conn: AsyncConnection, changes: Sequence[PutFact]) -> None:
    # A voiding may have arrived first (another partition, a replay from a time): the statement
    # then comes in already voided.
    voided = await _voided_at(conn, changes)
    facts = [c.fact for c in changes]
    fact_rows = [
        {
            "store": f.store,
            "statement_id": f.statement_id,
            "actor": f.actor,
            "actor_name": f.actor_name,
            "verb": f.verb,
            "verb_kind": f.verb_kind,
            "activity_id": f.activity_id,
            "activity_type": f.activity_type,
            "registration": f.registration,
            "session_id": f.session_id,
            "timestamp": f.timestamp,
            "score_scaled": f.score_scaled,
            "success": f.success,
            "completion": f.completion,
            "duration_s": f.duration_s,
            "assessment_type": f.assessment_type,
            "video_progress": f.video_progress,
            "voided_at": voided.get((f.store, f.statement_id)),
        }
        for f in facts
    ]
    context_rows = [
        {"store": f.store, "statement_id": f.statement_id, "position": i, "activity_id": a}
        for f in facts
        for i, a in enumerate(f.context_activities)
    ]
    if fact_rows:
        await _insert_ignore(conn, t.statement_facts, fact_rows)
    if context_rows:
        await _insert_ignore(conn, t.fact_context, context_rows)


async def _void(conn: AsyncConnection, changes: Sequence[VoidStatement]) -> None:
    await _insert_ignore(
        conn,
        t.voided_statements,
        [
            {
                "store": c.store,
                "statement_id": c.statement_id,
                "voiding_statement_id": c.voiding_statement_id,
                "voided_at": c.voided_at,
            }
            for c in changes
        ],
    )
    # Marked, not deleted: figures "as of" a date before the voiding still count the statement.
    # The first voiding wins, like the insert-or-ignore above.
    facts = t.statement_facts.c
    await conn.execute(
        sa.update(t.statement_facts)
        .where(
            facts.store == sa.bindparam("b_store"),
            facts.statement_id == sa.bindparam("b_statement_id"),
            facts.voided_at.is_(None),
        )
        .values(voided_at=sa.bindparam("b_voided_at")),
        [
            {
                "b_store": c.store,
                "b_statement_id": c.statement_id,
                "b_voided_at": c.voided_at or VOIDED_SINCE_EVER,
            }
            for c in changes
        ],
    )


async def _put_users(conn: AsyncConnection, changes: Sequence[PutUser]) -> None:
    rows = [
        {
            "id": c.user.id,
            "user_name": c.user.user_name,
            "display_name": c.user.display_name,
            "active": c.user.active,
            "department": c.user.department,
            "manager_id": c.user.manager_id,
        }
        for c in changes
    ]
    statement = _insert(conn, t.directory_users)
    updated = {name: statement.excluded[name] for name in rows[0] if name != "id"}
    await conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updated), rows)


async def _put_group(conn: AsyncConnection, change: PutGroup) -> None:
    group = change.group
    statement = _insert(conn, t.directory_groups).values(
        id=group.id, display_name=group.display_name
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"display_name": group.display_name}
        )
    )
    await conn.execute(sa.delete(t.group_members).where(t.group_members.c.group_id == group.id))
    members = [{"group_id": group.id, "user_id": m} for m in group.members]
    if members:
        await _insert_ignore(conn, t.group_members, members)


async def _apply_run(conn: AsyncConnection, kind: type, run: list[Any]) -> None:
    """Apply a run of changes of one kind, in order (executemany keeps the order)."""
    if kind is PutFact:
        await _put_facts(conn, run)
    elif kind is VoidStatement:
        await _void(conn, run)
    elif kind is SkipStatement:
        rows = [{"store": c.store, "statement_id": c.statement_id, "reason": c.reason} for c in run]
        await _insert_ignore(conn, t.skipped_statements, rows)
    elif kind is PutUser:
        await _put_users(conn, run)
    elif kind is DeactivateUser:
        users = t.directory_users
        await conn.execute(
            sa.update(users).where(users.c.id == sa.bindparam("b_id")).values(active=False),
            [{"b_id": c.user_id} for c in run],
        )
    elif kind is LinkActor:
        rows = [{"actor": c.actor, "user_id": c.user_id} for c in run]
        await _insert_ignore(conn, t.actor_links, rows)
    elif kind is UnlinkActor:
        rows = [{"actor": c.actor, "user_id": c.user_id} for c in run]
        await _delete_each(conn, t.actor_links, rows)
    elif kind is PutGroup:
        for change in run:
            await _put_group(conn, change)
    elif kind is DeleteGroup:
        ids = [{"group_id": c.group_id} for c in run]
        await _delete_each(conn, t.group_members, ids)
        await _delete_each(conn, t.directory_groups, [{"id": c.group_id} for c in run])


async def apply_changes(conn: AsyncConnection, changes: Sequence[Change]) -> None:
    """Apply changes in order, each run of one kind in a single executemany (the hot path)."""
    for kind, run in groupby(changes, key=type):
        await _apply_run(conn, kind, list(run))
