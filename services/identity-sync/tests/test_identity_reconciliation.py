"""Actor reconciliation: unmatched actors listed with counts; a late link credits old evidence."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
from identity_testkit import (
    COURSE,
    ISSUER,
    PATCH_URN,
    FakeLrs,
    Outbox,
    consume,
    join,
    make_group,
    make_user,
    statement,
    types,
)

from learnproof_identity.adapters.clock import ManualClock
from learnproof_identity.bootstrap import Container


async def test_unmatched_actors_then_late_link_credits_earlier_statements(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    user_id = await make_user(client, "dora@acme.com")
    await join(client, await make_group(client, "AI Engineers"), user_id)
    await published.new()

    # Statements from an address the directory does not know yet, and from a stranger.
    clock.advance(timedelta(days=3))
    unknown = {"mbox": "mailto:Dora.Private@Example.org"}
    proof = await lrs.store_statement(statement(unknown, "completed", COURSE, clock.now()))
    await lrs.store_statement(statement(unknown, "experienced", COURSE, clock.now()))
    stranger = {"account": {"homePage": "https://other-idp.test", "name": "zed"}}
    await lrs.store_statement(statement(stranger, "experienced", COURSE, clock.now()))
    assert await consume(container) == 3
    assert await published.new() == []

    r = await client.get("/api/v1/reconciliation/unmatched")
    assert r.status_code == 200
    listed = {a["actor_key"]: a["statement_count"] for a in r.json()["actors"]}
    assert listed == {
        "mbox:mailto:dora.private@example.org": 2,
        "account:https://other-idp.test|zed": 1,
    }
    assert r.json()["total"] == 2

    # The IdP adds the private address to the user: the actor links and the old completion counts.
    clock.advance(timedelta(days=1))
    body = {
        "schemas": [PATCH_URN],
        "Operations": [
            {
                "op": "add",
                "path": "emails",
                "value": [{"type": "other", "value": "dora.private@example.org"}],
            }
        ],
    }
    r = await client.patch(f"/scim/v2/Users/{user_id}", json=body)
    assert r.status_code == 200, r.text
    events = await published.new()
    assert types(events) == [
        "identity.user.upserted",
        "identity.actor.linked",
        "compliance.satisfied",
        "entitlement.granted",
    ]
    assert events[2].data["evidence"] == [proof["id"]]
    assert events[2].data["satisfied_at"] == (clock.now() - timedelta(days=1)).isoformat()
    r = await client.get("/api/v1/reconciliation/unmatched")
    assert [a["actor_key"] for a in r.json()["actors"]] == ["account:https://other-idp.test|zed"]

    # An administrator links the stranger by hand; unlinking puts it back on the list.
    r = await client.post(
        "/api/v1/reconciliation/links",
        json={"actor": stranger, "user_id": user_id},
    )
    assert r.status_code == 201, r.text
    assert types(await published.new()) == ["identity.actor.linked"]
    assert (await client.get("/api/v1/reconciliation/unmatched")).json()["total"] == 0
    r = await client.delete(
        "/api/v1/reconciliation/links",
        params={"actor_key": "account:https://other-idp.test|zed"},
    )
    assert r.status_code == 204
    assert types(await published.new()) == ["identity.actor.unlinked"]
    assert (await client.get("/api/v1/reconciliation/unmatched")).json()["total"] == 1


async def test_link_rules_account_external_id_and_sha1(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    first = await make_user(client, "eli@acme.com")
    second = await make_user(client, "fay@acme.com")
    await published.new()
    by_external_id = {"account": {"homePage": ISSUER, "name": "ext-eli@acme.com"}}
    digest = hashlib.sha1(b"mailto:fay@acme.com").hexdigest()
    await lrs.store_statement(statement(by_external_id, "experienced", COURSE, clock.now()))
    await lrs.store_statement(
        statement({"mbox_sha1sum": digest}, "experienced", COURSE, clock.now())
    )
    await consume(container)
    linked = {(e.data["user_id"], e.data["actor"]) for e in await published.new()}
    assert linked == {
        (first, f"account:{ISSUER}|ext-eli@acme.com"),
        (second, f"mbox_sha1sum:{digest}"),
    }


async def test_ambiguous_email_stays_unmatched(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    await make_user(client, "gus@acme.com", email="shared@acme.com")
    await make_user(client, "hal@acme.com", email="shared@acme.com")
    await lrs.store_statement(
        statement({"mbox": "mailto:shared@acme.com"}, "completed", COURSE, clock.now())
    )
    await consume(container)
    assert "identity.actor.linked" not in types(await published.new())
    r = await client.get("/api/v1/reconciliation/unmatched")
    assert r.json()["actors"][0]["actor_key"] == "mbox:mailto:shared@acme.com"
