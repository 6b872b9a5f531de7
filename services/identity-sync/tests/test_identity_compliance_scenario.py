"""The clock scenario: assigned → satisfied → granted → expiring → expired → revoked, with the
AuthZEN gate asked at every step and `as_of` answering for the past from the history."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from identity_testkit import (
    COURSE,
    ISSUER,
    PATCH_URN,
    T0,
    FakeLrs,
    Outbox,
    account,
    ask,
    consume,
    join,
    make_group,
    make_user,
    statement,
    types,
)

from learnproof_identity.adapters.clock import ManualClock
from learnproof_identity.bootstrap import Container


async def test_clock_scenario(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    user_id = await make_user(client, "ada@acme.com")
    group_id = await make_group(client, "AI Engineers")
    await published.new()
    assert (await ask(client, "ada@acme.com"))["decision"] is False

    # Joins the required group → assigned, due in 30 days.
    await join(client, group_id, user_id)
    events = await published.new()
    assert types(events) == ["identity.group.upserted", "compliance.assigned"]
    assigned = events[1]
    assert assigned.key == user_id and assigned.subject == "ai-ethics"
    assert assigned.data["due_at"] == (T0 + timedelta(days=30)).isoformat()
    denied = await ask(client, "ada@acme.com")
    assert denied["decision"] is False
    assert "ai-ethics=assigned" in denied["context"]["reason_admin"]["en"]
    assert "AI ethics" in denied["context"]["reason_user"]["en"]

    # Ten days later, completes the course (a statement stored by the LRS).
    clock.advance(timedelta(days=10))
    completed_at = clock.now()
    done = await lrs.store_statement(
        statement(account("ada@acme.com"), "completed", COURSE, completed_at)
    )
    assert await consume(container) == 1
    events = await published.new()
    assert types(events) == [
        "identity.actor.linked",
        "compliance.satisfied",
        "entitlement.granted",
    ]
    assert events[0].data == {"user_id": user_id, "actor": f"account:{ISSUER}|ada@acme.com"}
    assert events[1].data["evidence"] == [done["id"]]
    assert events[1].data["expires_at"] == (completed_at.replace(year=2027)).isoformat()
    assert events[2].data["entitlement"] == "ai-prod-access"
    assert events[2].data["evidence"] == [done["id"]]
    allowed = await ask(client, "ada@acme.com")
    assert allowed["decision"] is True and allowed["context"]["evidence"] == [done["id"]]
    # The gate also knows the user by id and externalId.
    assert (await ask(client, user_id))["decision"] is True
    assert (await ask(client, "ext-ada@acme.com"))["decision"] is True

    # Replaying the same LRS event changes nothing (the runner deduplicates, state is a fold).
    assert await consume(container) == 0
    assert await published.new() == []

    # Eleven months and a half later: inside the 30-day warning window → expiring, still allowed.
    clock.set(completed_at + timedelta(days=345))
    await container.tick()
    assert types(await published.new()) == ["compliance.expiring"]
    assert (await ask(client, "ada@acme.com"))["decision"] is True

    # Thirteen months after completion: expired → entitlement revoked.
    clock.set(completed_at.replace(year=2027, month=2))
    assert await container.tick() == 2
    events = await published.new()
    assert types(events) == ["compliance.expired", "entitlement.revoked"]
    assert events[0].data["effective_at"] == completed_at.replace(year=2027).isoformat()
    assert events[1].data["effective_at"] == completed_at.replace(year=2027).isoformat()
    denied = await ask(client, "ada@acme.com")
    assert denied["decision"] is False
    assert "ai-ethics=expired" in denied["context"]["reason_admin"]["en"]
    # A second tick at the same time is a no-op.
    assert await container.tick() == 0

    # as_of answers from the history.
    expiry = completed_at.replace(year=2027)
    assert (await ask(client, "ada@acme.com", T0 + timedelta(days=5)))["decision"] is False
    assert (await ask(client, "ada@acme.com", completed_at))["decision"] is True
    assert (await ask(client, "ada@acme.com", T0 + timedelta(days=200)))["decision"] is True
    assert (await ask(client, "ada@acme.com", expiry - timedelta(seconds=1)))["decision"] is True
    assert (await ask(client, "ada@acme.com", expiry))["decision"] is False
    past = await ask(
        client, "ada@acme.com", T0 + timedelta(days=5), type="requirement", id="ai-ethics"
    )
    assert past["decision"] is False and past["context"]["status"] == "assigned"
    mid = await ask(
        client, "ada@acme.com", expiry - timedelta(days=10), type="requirement", id="ai-ethics"
    )
    assert mid["decision"] is True and mid["context"]["status"] == "expiring"

    # The same history as a report over everyone.
    def report_params(moment: datetime) -> dict[str, str]:
        return {"at": moment.isoformat(), "requirement": "ai-ethics"}

    r = await client.get("/api/v1/compliance/as-of", params=report_params(completed_at))
    assert [(s["user_id"], s["status"], s["compliant"]) for s in r.json()["states"]] == [
        (user_id, "satisfied", True)
    ]
    r = await client.get("/api/v1/compliance/as-of", params=report_params(T0))
    assert [s["status"] for s in r.json()["states"]] == ["assigned"]
    r = await client.get("/api/v1/compliance/as-of", params=report_params(T0 - timedelta(days=1)))
    assert r.json()["states"] == []
    r = await client.get("/api/v1/entitlements/ai-prod-access/holders")
    assert r.json()["holders"] == []

    # Renewal: completes again → satisfied and granted again.
    clock.advance(timedelta(days=1))
    await lrs.store_statement(statement(account("ada@acme.com"), "passed", COURSE, clock.now()))
    await consume(container)
    assert types(await published.new()) == ["compliance.satisfied", "entitlement.granted"]
    assert (await ask(client, "ada@acme.com"))["decision"] is True
    r = await client.get("/api/v1/entitlements/ai-prod-access/holders")
    assert [(h["user_id"], h["userName"]) for h in r.json()["holders"]] == [
        (user_id, "ada@acme.com")
    ]


async def test_overdue_then_satisfied_and_voiding_reopens(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    user_id = await make_user(client, "bob@acme.com")
    group_id = await make_group(client, "AI Engineers")
    await join(client, group_id, user_id)
    await published.new()

    clock.advance(timedelta(days=31))
    assert await container.tick() == 1
    events = await published.new()
    assert types(events) == ["compliance.overdue"]
    assert events[0].data["previous_status"] == "assigned"
    assert (await ask(client, "bob@acme.com"))["decision"] is False

    # mbox fallback links the actor by email.
    proof = await lrs.store_statement(
        statement({"mbox": "mailto:bob@acme.com"}, "completed", COURSE, clock.now())
    )
    await consume(container)
    assert types(await published.new()) == [
        "identity.actor.linked",
        "compliance.satisfied",
        "entitlement.granted",
    ]

    # Voiding the evidence reopens the requirement; past due and past grace → revoked at once.
    clock.advance(timedelta(days=10))
    await lrs.void(proof, clock.now())
    await consume(container)
    events = await published.new()
    assert types(events) == [
        "compliance.reopened",
        "compliance.overdue",
        "entitlement.revoked",
    ]
    assert events[0].data["status"] == "overdue"
    assert events[0].data["previous_status"] == "satisfied"
    assert (await ask(client, "bob@acme.com"))["decision"] is False


async def test_reopened_within_grace_keeps_access_until_grace_ends(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    user_id = await make_user(client, "cy@acme.com")
    await join(client, await make_group(client, "AI Engineers"), user_id)
    clock.advance(timedelta(days=2))
    proof = await lrs.store_statement(
        statement(account("cy@acme.com"), "completed", COURSE, clock.now())
    )
    await consume(container)
    await published.new()

    clock.advance(timedelta(days=3))
    await lrs.void(proof, clock.now())
    await consume(container)
    events = await published.new()
    assert types(events) == ["compliance.reopened"]
    assert events[0].data["status"] == "assigned"
    assert (await ask(client, "cy@acme.com"))["decision"] is True  # due T0+30d, grace 7 days

    clock.set(T0 + timedelta(days=36))
    await container.tick()
    assert types(await published.new()) == ["compliance.overdue"]
    assert (await ask(client, "cy@acme.com"))["decision"] is True
    clock.set(T0 + timedelta(days=37, seconds=1))
    await container.tick()
    events = await published.new()
    assert types(events) == ["entitlement.revoked"]
    assert events[0].data["effective_at"] == (T0 + timedelta(days=37)).isoformat()
    assert (await ask(client, "cy@acme.com"))["decision"] is False


async def test_deactivated_and_removed_users_drop_out(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    ada = await make_user(client, "ada@acme.com")
    eve = await make_user(client, "eve@acme.com")
    group_id = await make_group(client, "AI Engineers")
    await join(client, group_id, ada)
    await join(client, group_id, eve)
    for name in ("ada@acme.com", "eve@acme.com"):
        await lrs.store_statement(statement(account(name), "completed", COURSE, clock.now()))
    await consume(container)
    assert types(await published.new()).count("entitlement.granted") == 2

    patch = {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": False}}]}
    await client.patch(f"/scim/v2/Users/{ada}", json=patch)
    events = await published.new()
    assert types(events) == [
        "identity.user.upserted",
        "identity.user.deactivated",
        "compliance.unassigned",
        "entitlement.revoked",
    ]
    assert events[2].data["status"] is None and events[2].data["previous_status"] == "satisfied"
    assert (await ask(client, "ada@acme.com"))["decision"] is False

    remove = {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "remove", "path": f'members[value eq "{eve}"]'}],
    }
    await client.patch(f"/scim/v2/Groups/{group_id}", json=remove)
    events = await published.new()
    assert types(events) == [
        "identity.group.upserted",
        "compliance.unassigned",
        "entitlement.revoked",
    ]
    r = await client.get(f"/api/v1/users/{eve}/compliance")
    assert r.json()["states"] == {} and r.json()["entitlements"] == {}
    kinds = [h["kind"] for h in r.json()["history"]]
    assert kinds == ["assigned", "satisfied", "unassigned"]
