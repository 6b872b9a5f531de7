"""Requirements API, SCIM-filter audiences, lookback, cmi5 satisfied, and the AuthZEN API."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import httpx
from identity_testkit import (
    ISSUER,
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
from learnproof_identity.bootstrap import Container, bootstrap

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PRIVACY = "https://courses.acme.test/privacy"


async def test_requirements_file_is_loaded(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/requirements")
    (loaded,) = r.json()["requirements"]
    assert loaded["id"] == "ai-ethics" and loaded["recurrence"] == "P1Y"
    r = await client.get("/api/v1/entitlements")
    assert r.json()["entitlements"][0]["requirements"] == ["ai-ethics"]


async def test_api_requirement_with_filter_audience_lookback_and_cmi5(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    lrs: FakeLrs,
    published: Outbox,
) -> None:
    research = await make_user(client, "rita@acme.com")
    await make_user(client, "sam@acme.com")
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": f"{ENTERPRISE}:department", "value": "Research"}],
    }
    assert (await client.patch(f"/scim/v2/Users/{research}", json=patch)).status_code == 200
    # A cmi5 `satisfied` on the course, three weeks before the requirement exists.
    proof = await lrs.store_statement(
        statement(account("rita@acme.com"), "satisfied", PRIVACY, clock.now())
    )
    await consume(container)
    await published.new()

    clock.advance(timedelta(days=21))
    definition = {
        "title": "Privacy basics",
        "activity": PRIVACY,
        "audience": {"filter": f'{ENTERPRISE}:department eq "Research"'},
        "due": {"from": "assignment", "within": "P14D"},
        "lookback": "P30D",
        "move_on": "Passed",
    }
    r = await client.put("/api/v1/requirements/privacy", json=definition)
    assert r.status_code == 200, r.text
    assert r.json()["requirement"]["audience"]["filter"].endswith('"Research"')
    events = await published.new()
    assert types(events) == ["compliance.assigned", "compliance.satisfied"]
    assert {e.key for e in events} == {research}
    assert events[1].data["evidence"] == [proof["id"]]

    # An entitlement that needs both requirements: ai-ethics is not assigned to rita.
    r = await client.put(
        "/api/v1/entitlements/research-data", json={"requirements": ["privacy", "ai-ethics"]}
    )
    assert r.status_code == 200
    assert await published.new() == []
    denied = await ask(client, "rita@acme.com", None, type="entitlement", id="research-data")
    assert denied["decision"] is False
    assert denied["context"]["requirements"] == {
        "privacy": "satisfied",
        "ai-ethics": "not assigned",
    }
    r = await client.put("/api/v1/entitlements/research-data", json={"requirements": ["privacy"]})
    assert types(await published.new()) == ["entitlement.granted"]
    assert (await ask(client, "rita@acme.com", None, type="entitlement", id="research-data"))[
        "decision"
    ] is True

    # Moving out of the department drops the requirement and the entitlement.
    patch["Operations"] = [{"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Ops"}]
    await client.patch(f"/scim/v2/Users/{research}", json=patch)
    assert types(await published.new())[-2:] == ["compliance.unassigned", "entitlement.revoked"]

    # Back in Research: assigned and (lookback) satisfied again; then the requirement is deleted.
    patch["Operations"] = [
        {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Research"}
    ]
    await client.patch(f"/scim/v2/Users/{research}", json=patch)
    assert types(await published.new())[-3:] == [
        "compliance.assigned",
        "compliance.satisfied",
        "entitlement.granted",
    ]
    assert (await client.delete("/api/v1/requirements/privacy")).status_code == 204
    events = await published.new()
    assert types(events) == ["compliance.unassigned", "entitlement.revoked"]
    assert events[0].data["activity_iri"] is None
    assert (await client.delete("/api/v1/requirements/privacy")).status_code == 404
    r = await client.put("/api/v1/requirements/bad", json={"activity": PRIVACY})
    assert r.status_code == 400 and "audience" in r.json()["error"]


async def test_authzen_discovery_batch_and_unknowns(
    client: httpx.AsyncClient, container: Container
) -> None:
    r = await client.get("/.well-known/authzen-configuration")
    assert r.status_code == 200
    config = r.json()
    assert config["access_evaluation_endpoint"] == "http://identity.test/access/v1/evaluation"
    assert config["policy_decision_point"] == "http://identity.test"

    await make_user(client, "una@acme.com")
    r = await client.post(
        "/access/v1/evaluations",
        json={
            "subject": {"type": "user", "id": "una@acme.com"},
            "action": {"name": "deploy"},
            "evaluations": [
                {"resource": {"type": "entitlement", "id": "ai-prod-access"}},
                {"resource": {"type": "requirement", "id": "ai-ethics"}},
                {"resource": {"type": "entitlement", "id": "no-such-thing"}},
                {
                    "subject": {"type": "user", "id": "nobody@acme.com"},
                    "resource": {"type": "entitlement", "id": "ai-prod-access"},
                },
            ],
        },
    )
    assert r.status_code == 200, r.text
    decisions = r.json()["evaluations"]
    assert [d["decision"] for d in decisions] == [False, False, False, False]
    assert "is configured" in decisions[2]["context"]["reason_admin"]["en"]
    assert "matches 0 directory users" in decisions[3]["context"]["reason_admin"]["en"]
    r = await client.post("/access/v1/evaluation", json={"subject": {"id": "x"}})
    assert r.status_code == 400
    r = await client.post(
        "/access/v1/evaluation",
        json={
            "subject": {"type": "user", "id": "una@acme.com"},
            "resource": {"type": "entitlement", "id": "ai-prod-access"},
            "context": {"as_of": "yesterday"},
        },
    )
    assert r.status_code == 400


async def test_issuer_setting_is_the_account_home_page(container: Container) -> None:
    assert container.settings.idp_issuer == ISSUER
    assert any(rule.home_page == ISSUER for rule in container.services.link_rules)


async def test_requirements_file_is_declarative_across_restarts(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    published: Outbox,
    requirements_file: Path,
) -> None:
    user_id = await make_user(client, "val@acme.com")
    await join(client, await make_group(client, "AI Engineers"), user_id)
    await published.new()

    # A restart with the same file changes nothing.
    again = await bootstrap(container.settings, clock=clock)
    await again.close()
    assert await published.new() == []

    # The file drops the requirement: its assignments end; API-made definitions stay.
    r = await client.put(
        "/api/v1/requirements/extra",
        json={"activity": PRIVACY, "audience": {"groups": ["Nobody"]}},
    )
    assert r.status_code == 200
    empty = json.dumps({"requirements": [], "entitlements": []})
    await asyncio.to_thread(requirements_file.write_text, empty)
    again = await bootstrap(container.settings, clock=clock)
    await again.close()
    events = await published.new()
    assert types(events) == ["compliance.unassigned"]
    assert events[0].data["requirement_id"] == "ai-ethics"
    ids = [d["id"] for d in (await client.get("/api/v1/requirements")).json()["requirements"]]
    assert ids == ["extra"]
