"""Activities and Agents resources (xAPI 1.0.3 Communication 2.4 / 2.5; 2.0 4.1.6.3 / 4.1.6.4),
plus scopes and store isolation of every document resource, on both databases."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx

from learnproof_lrs.bootstrap import Lrs
from learnproof_lrs.entrypoints.http.app import create_app
from learnproof_lrs.service_layer.credentials import create_credential

VERB = {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-US": "attended"}}


def statement(actor: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    return {"actor": actor, "verb": VERB, "object": obj}


def meeting(activity_id: str, names: dict[str, str]) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": activity_id,
        "definition": {
            "type": "http://adlnet.gov/expapi/activities/meeting",
            "name": names,
            "moreInfo": "http://virtualmeeting.example.com/345256",
        },
    }


# --- Activities (Communication 2.5) ---------------------------------------------------------------


async def test_activity_returns_the_canonical_definition(client: httpx.AsyncClient) -> None:
    activity_id = f"http://www.example.com/meetings/{uuid.uuid4()}"
    obj = meeting(activity_id, {"en-US": "example meeting"})
    actor = {"mbox": "mailto:learner@example.com", "name": "Learner"}
    assert (await client.post("/statements", json=[statement(actor, obj)])).status_code == 200
    r = await client.get("/activities", params={"activityId": activity_id})
    assert r.status_code == 200
    assert r.json() == obj
    head = await client.head("/activities", params={"activityId": activity_id})
    assert head.status_code == 200
    assert head.content == b""


async def test_activity_definitions_merge_languages(client: httpx.AsyncClient) -> None:
    activity_id = f"http://www.example.com/meetings/{uuid.uuid4()}"
    actor = {"mbox": "mailto:learner@example.com"}
    first = statement(actor, meeting(activity_id, {"en-US": "example meeting"}))
    second = statement(actor, meeting(activity_id, {"fr-FR": "réunion"}))
    assert (await client.post("/statements", json=[first, second])).status_code == 200
    r = await client.get("/activities", params={"activityId": activity_id})
    assert r.json()["definition"]["name"] == {"en-US": "example meeting", "fr-FR": "réunion"}


async def test_unknown_activity_is_still_an_activity(client2: httpx.AsyncClient) -> None:
    activity_id = f"http://www.example.com/never-seen/{uuid.uuid4()}"
    r = await client2.get("/activities", params={"activityId": activity_id})
    assert r.status_code == 200
    assert r.json() == {"objectType": "Activity", "id": activity_id}


async def test_activities_parameters(client: httpx.AsyncClient) -> None:
    assert (await client.get("/activities")).status_code == 400
    assert (await client.get("/activities", params={"activityId": "not an iri"})).status_code == 400
    extra = {"activityId": "http://example.com/a", "agent": "{}"}
    assert (await client.get("/activities", params=extra)).status_code == 400


# --- Agents (Communication 2.4) -------------------------------------------------------------------


async def test_agents_returns_a_person(client: httpx.AsyncClient) -> None:
    actor = {"objectType": "Agent", "name": "xAPI mbox", "mbox": "mailto:xapi@adlnet.gov"}
    obj = {"objectType": "Activity", "id": "http://www.example.com/meetings/1"}
    assert (await client.post("/statements", json=[statement(actor, obj)])).status_code == 200
    r = await client.get("/agents", params={"agent": json.dumps(actor)})
    assert r.status_code == 200
    assert r.json() == {
        "objectType": "Person",
        "name": ["xAPI mbox"],
        "mbox": ["mailto:xapi@adlnet.gov"],
    }


async def test_person_names_come_from_statements(client: httpx.AsyncClient) -> None:
    obj = {"objectType": "Activity", "id": "http://www.example.com/meetings/1"}
    for name in ("Old Name", "New Name"):
        actor = {"name": name, "account": {"homePage": "http://lms.example.com", "name": "u42"}}
        assert (await client.post("/statements", json=statement(actor, obj))).status_code == 200
    query = {"account": {"homePage": "http://lms.example.com", "name": "u42"}}
    person = (await client.get("/agents", params={"agent": json.dumps(query)})).json()
    assert person["objectType"] == "Person"
    assert sorted(person["name"]) == ["New Name", "Old Name"]
    assert person["account"] == [{"homePage": "http://lms.example.com", "name": "u42"}]


async def test_person_for_each_identifier_kind(client: httpx.AsyncClient) -> None:
    for prop, value in (
        ("mbox_sha1sum", "cd9b00a5611f94eaa7b1661edab976068e364975"),
        ("openid", "http://openid.example.org/12345"),
    ):
        r = await client.get("/agents", params={"agent": json.dumps({prop: value})})
        assert r.status_code == 200
        assert r.json() == {"objectType": "Person", prop: [value]}


async def test_agents_parameters(client: httpx.AsyncClient) -> None:
    assert (await client.get("/agents")).status_code == 400
    for bad in ("true", "{", json.dumps({"name": "no identifier", "objectType": "Agent"})):
        assert (await client.get("/agents", params={"agent": bad})).status_code == 400, bad


# --- Scopes and stores ----------------------------------------------------------------------------


def _client(lrs: Lrs, key: str, secret: str, version: str = "1.0.3") -> httpx.AsyncClient:
    auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(lrs=lrs)),
        base_url="http://lrs.test/xapi",
        headers={"Authorization": auth, "X-Experience-API-Version": version},
    )


STATE_PARAMS = {
    "activityId": "http://example.com/scoped",
    "agent": json.dumps({"mbox": "mailto:scoped@example.com"}),
    "stateId": "s1",
}
PROFILE_PARAMS = {"activityId": "http://example.com/scoped", "profileId": "p1"}


async def test_scopes_gate_each_resource(client: httpx.AsyncClient, lrs: Lrs) -> None:
    store = "default"
    for scopes, state_read, state_write, profile_read, profile_write in (
        (["statements/write"], 403, 403, 403, 403),
        (["state"], 200, 204, 403, 403),
        (["profile"], 403, 403, 200, 204),
        (["all/read"], 200, 403, 200, 403),
        (["all"], 200, 204, 200, 204),
    ):
        key, secret = await create_credential(lrs.db, store_id=store, name="t", scopes=scopes)
        async with _client(lrs, key, secret) as other:
            await client.put("/activities/state", params=STATE_PARAMS, json={"a": 1})
            await client.put(
                "/activities/profile",
                params=PROFILE_PARAMS,
                json={"a": 1},
                headers={"If-Match": "*"},
            )
            await client.put(
                "/activities/profile",
                params=PROFILE_PARAMS,
                json={"a": 1},
                headers={"If-None-Match": "*"},
            )
            r = await other.get("/activities/state", params=STATE_PARAMS)
            assert r.status_code == state_read, scopes
            r = await other.put("/activities/state", params=STATE_PARAMS, json={"a": 2})
            assert r.status_code == state_write, scopes
            r = await other.get("/activities/profile", params=PROFILE_PARAMS)
            assert r.status_code == profile_read, scopes
            r = await other.put(
                "/activities/profile",
                params=PROFILE_PARAMS,
                json={"a": 2},
                headers={"If-Match": "*"},
            )
            assert r.status_code == profile_write, scopes


async def test_stores_do_not_see_each_other(client: httpx.AsyncClient, lrs: Lrs) -> None:
    await client.put("/activities/state", params=STATE_PARAMS, json={"mine": True})
    key, secret = await create_credential(
        lrs.db, store_id=f"other-{uuid.uuid4().hex[:8]}", name="x"
    )
    async with _client(lrs, key, secret) as other:
        assert (await other.get("/activities/state", params=STATE_PARAMS)).status_code == 404
        listing = {k: v for k, v in STATE_PARAMS.items() if k != "stateId"}
        assert (await other.get("/activities/state", params=listing)).json() == []
        await other.delete("/activities/state", params=listing)
        assert (
            await other.put("/activities/state", params=STATE_PARAMS, json={"theirs": 1})
        ).status_code == 204
    assert (await client.get("/activities/state", params=STATE_PARAMS)).json() == {"mine": True}


async def test_cors_lets_browser_content_use_documents(client: httpx.AsyncClient) -> None:
    origin = {"Origin": "https://content.example.com"}
    preflight = await client.options(
        "/activities/state",
        headers={
            **origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "if-match, content-type, x-experience-api-version",
        },
    )
    assert preflight.status_code == 200
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    await client.put("/activities/state", params=STATE_PARAMS, json={"a": 1})
    got = await client.get("/activities/state", params=STATE_PARAMS, headers=origin)
    exposed = got.headers["access-control-expose-headers"].lower()
    assert "etag" in exposed and "last-modified" in exposed
