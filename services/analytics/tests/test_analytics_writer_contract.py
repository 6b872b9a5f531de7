"""The SQL writer holds the same state as the in-memory fold, on SQLite and PostgreSQL.

A seeded random mix of statement, voiding and directory events (redeliveries, voidings before
their statement, group churn, link/unlink) is folded by the domain's ReadModel and applied in
batches by the SQL adapter; both must end in the same state.
"""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa
from analytics_statements import FakeEvent, statement, stored_event, voided_event

from learnproof_analytics.adapters import tables as t
from learnproof_analytics.adapters.schema import create_schema
from learnproof_analytics.adapters.writer import apply_changes
from learnproof_analytics.bootstrap import make_engine
from learnproof_analytics.domain.projection import ReadModel, changes_for


def random_events(seed: int, count: int = 600) -> list[FakeEvent]:
    rng = random.Random(seed)
    users = [f"u{i}" for i in range(12)]
    bodies: list[dict[str, object]] = []
    events: list[FakeEvent] = []
    for _ in range(count):
        roll = rng.random()
        user = rng.choice(users)
        if roll < 0.45 or not bodies:
            body = statement(
                f"{user}@x.org",
                rng.choice(["completed", "passed", "failed", "initialized", "terminated"]),
                f"urn:a{rng.randrange(4)}",
                timedelta(minutes=rng.randrange(5000)),
                registration=f"r{rng.randrange(3)}",
                score=rng.choice([None, 0.0, 0.5, 1.0]),
                duration=rng.choice([None, 30, 600]),
                parent=rng.choice([None, "urn:course"]),
            )
            bodies.append(body)
            events.append(stored_event(body))
        elif roll < 0.55:
            events.append(voided_event(rng.choice(bodies)))
        elif roll < 0.6:  # a voiding that arrives before its statement
            body = statement(f"{user}@x.org", "passed", "urn:early", score=0.3)
            events += [voided_event(body), stored_event(body)]
        elif roll < 0.7:
            events.append(rng.choice(events))  # redelivery
        elif roll < 0.78:
            data = {"user": {"id": user, "managerId": rng.choice(["m1", "m2", None])}}
            events.append(FakeEvent("identity.user.upserted", user, data))
        elif roll < 0.8:
            events.append(FakeEvent("identity.user.deactivated", user, {"user_id": user}))
        elif roll < 0.88:
            group = rng.choice(["g1", "g2"])
            members = rng.sample(users, rng.randrange(4))
            events.append(
                FakeEvent(
                    "identity.group.upserted", group, {"group": {"id": group, "members": members}}
                )
            )
        elif roll < 0.9:
            group = rng.choice(["g1", "g2"])
            events.append(FakeEvent("identity.group.deleted", group, {"group_id": group}))
        else:
            kind = "linked" if rng.random() < 0.7 else "unlinked"
            data = {"user_id": user, "actor": f"mbox:mailto:{user}@x.org"}
            events.append(FakeEvent(f"identity.actor.{kind}", user, data))
    # End with group churn so the final state depends on it.
    events.append(
        FakeEvent("identity.group.upserted", "g1", {"group": {"id": "g1", "members": ["u1"]}})
    )
    events.append(FakeEvent("identity.group.deleted", "g2", {"group_id": "g2"}))
    return events


def memory_state(model: ReadModel) -> dict[str, object]:
    return {
        "facts": sorted(model.facts),
        "voided": sorted(model.voided),
        "users": sorted((u.id, u.active, u.manager_id) for u in model.users.values()),
        "groups": sorted((g.id, m) for g in model.groups.values() for m in g.members),
        "group_ids": sorted(model.groups),
        "links": sorted(model.links),
    }


async def sql_state(url: str) -> dict[str, object]:
    engine = make_engine(url)
    f, users, members = t.statement_facts.c, t.directory_users.c, t.group_members.c
    async with engine.connect() as conn:

        async def rows(query: sa.Select[tuple[object, ...]]) -> list[tuple[object, ...]]:
            return sorted(tuple(r) for r in await conn.execute(query))

        state: dict[str, object] = {
            "facts": await rows(sa.select(f.store, f.statement_id).where(f.voided_at.is_(None))),
            "voided": await rows(
                sa.select(t.voided_statements.c.store, t.voided_statements.c.statement_id)
            ),
            "users": await rows(sa.select(users.id, users.active, users.manager_id)),
            "groups": await rows(sa.select(members.group_id, members.user_id)),
            "group_ids": [r[0] for r in await rows(sa.select(t.directory_groups.c.id))],
            "links": await rows(sa.select(t.actor_links.c.actor, t.actor_links.c.user_id)),
        }
    await engine.dispose()
    return state


async def test_sql_writer_matches_the_in_memory_fold(backend: tuple[str, str]) -> None:
    url = backend[0]
    engine = make_engine(url)
    await create_schema(engine)
    model = ReadModel()
    events = random_events(seed=5)
    rng = random.Random(9)
    start = 0
    while start < len(events):
        batch = events[start : start + rng.randint(1, 60)]
        start += len(batch)
        model.apply_events(batch)
        async with engine.begin() as conn:
            await apply_changes(conn, changes_for(batch))
    await engine.dispose()
    expected = memory_state(model)
    assert expected["facts"] and expected["voided"] and expected["links"]
    assert expected["group_ids"] == ["g1"]
    assert await sql_state(url) == expected
