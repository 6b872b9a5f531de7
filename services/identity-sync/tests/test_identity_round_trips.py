"""Database round trips: a SCIM write costs a handful of statements, a consumer batch a few per
batch rather than per event, and folding a batch at once keeps the per-event meaning."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from identity_testkit import (
    COURSE,
    PATCH_URN,
    FakeLrs,
    Outbox,
    account,
    consume,
    join,
    make_group,
    make_user,
    statement,
    types,
)

from learnproof_identity.adapters.clock import ManualClock
from learnproof_identity.bootstrap import Container


@contextmanager
def counted(container: Container) -> Iterator[list[str]]:
    """Every SQL statement identity-sync sends while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        sent.append(sql)

    engine = container.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


async def test_scim_user_writes_take_a_bounded_number_of_statements(
    client: httpx.AsyncClient, container: Container
) -> None:
    await make_user(client, "warm@acme.com")  # statement caches, the catalog file, ...
    with counted(container) as sent:
        user_id = await make_user(client, "ada@acme.com")
    # Insert (returning the row), actor keys, seen actors, the catalog, the outbox.
    assert len(sent) <= 5, sent

    with counted(container) as sent:
        r = await client.patch(
            f"/scim/v2/Users/{user_id}",
            json={
                "schemas": [PATCH_URN],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Ada L."}],
            },
        )
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["version"] == 'W/"2"'
    # Read, update (returning the row), groups, actor keys (2), links, seen actors, the catalog,
    # state, evidence, grants, the outbox.
    assert len(sent) <= 12, sent


async def test_a_consumer_batch_costs_statements_per_batch_not_per_event(
    client: httpx.AsyncClient, container: Container, clock: ManualClock, lrs: FakeLrs
) -> None:
    user_id = await make_user(client, "ada@acme.com")
    await join(client, await make_group(client, "AI Engineers"), user_id)
    for n in range(30):
        moment = clock.now() + timedelta(minutes=n)
        await lrs.store_statement(statement(account("ada@acme.com"), "completed", COURSE, moment))
        await lrs.store_statement(
            statement(account(f"stranger{n}@acme.com"), "experienced", COURSE, moment)
        )
    with counted(container) as sent:
        assert await consume(container) == 60
    assert len(sent) < 40, sent

    r = await client.get("/api/v1/reconciliation/unmatched", params={"limit": 100})
    assert r.json()["total"] == 30
    assert {a["statement_count"] for a in r.json()["actors"]} == {1}
    r = await client.get(f"/api/v1/users/{user_id}/compliance")
    assert r.status_code == 200, r.text
    assert "satisfied" in r.text


async def test_a_statement_voided_in_the_batch_that_stored_it_does_not_count(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    user_id = await make_user(client, "bob@acme.com")
    await join(client, await make_group(client, "AI Engineers"), user_id)
    await published.new()
    proof = await lrs.store_statement(
        statement(account("bob@acme.com"), "completed", COURSE, clock.now())
    )
    await lrs.void(proof, clock.now())

    assert await consume(container) == 2
    # Linked by the batch, but its only evidence was voided within it: still just assigned.
    assert types(await published.new()) == ["identity.actor.linked"]
    r = await client.get("/api/v1/reconciliation/unmatched")
    assert r.json()["total"] == 0
