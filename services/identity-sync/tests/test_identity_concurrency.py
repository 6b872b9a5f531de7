"""The API and the consumer racing on the same users: per-user locking keeps transitions single."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from identity_testkit import (
    COURSE,
    PATCH_URN,
    FakeLrs,
    Outbox,
    account,
    consume,
    make_group,
    make_user,
    statement,
)

from learnproof_identity.adapters.clock import ManualClock
from learnproof_identity.bootstrap import Container

USERS = 8


async def test_join_and_completion_race(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    names = [f"r{n}@acme.com" for n in range(USERS)]
    ids = [await make_user(client, name) for name in names]
    group_id = await make_group(client, "AI Engineers")
    for name in names:
        await lrs.store_statement(statement(account(name), "completed", COURSE, clock.now()))
    await published.new()

    async def join(user_id: str) -> None:
        body = {
            "schemas": [PATCH_URN],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
        }
        for _ in range(20):  # SQLite may say "database is locked" under the race: retry
            r = await client.patch(f"/scim/v2/Groups/{group_id}", json=body)
            if r.status_code == 200:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(r.text)

    await asyncio.gather(consume(container), *(join(i) for i in ids))
    await consume(container)

    per_user = Counter((e.key, e.type) for e in await published.new() if e.key in ids)
    for user_id in ids:
        assert per_user[(user_id, "compliance.assigned")] == 1, per_user
        assert per_user[(user_id, "compliance.satisfied")] == 1, per_user
        assert per_user[(user_id, "entitlement.granted")] == 1, per_user
    r = await client.get("/api/v1/compliance", params={"requirement": "ai-ethics"})
    assert {s["user_id"]: s["status"] for s in r.json()["states"]} == dict.fromkeys(
        ids, "satisfied"
    )
