"""Activity Profile and Agent Profile resources and their concurrency rules (xAPI 1.0.3
Communication 2.6, 2.7, 3.1; xAPI 2.0 4.1.4, 4.1.6.5, 4.1.6.6), on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx

AGENT = {"objectType": "Agent", "mbox": "mailto:profile-owner@example.com"}
ACTIVITY = "http://www.example.com/activities/profile-test"
CREATE = {"If-None-Match": "*"}


def activity_profile(activity: str = ACTIVITY) -> tuple[str, dict[str, str]]:
    return "/activities/profile", {"activityId": activity, "profileId": str(uuid.uuid4())}


def agent_profile(agent: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    return "/agents/profile", {
        "agent": json.dumps(agent or AGENT),
        "profileId": str(uuid.uuid4()),
    }


RESOURCES = (activity_profile, agent_profile)


def listing(p: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in p.items() if k != "profileId"}


# --- 2.6 / 2.7: methods, byte-exact storage ------------------------------------------------------


async def test_put_get_delete_round_trip(client: httpx.AsyncClient) -> None:
    for make in RESOURCES:
        path, p = make()
        body = b"<xml>profile</xml>"
        headers = {**CREATE, "Content-Type": "application/xml"}
        assert (await client.put(path, params=p, content=body, headers=headers)).status_code == 204
        got = await client.get(path, params=p)
        assert got.status_code == 200, path
        assert got.content == body
        assert got.headers["content-type"] == "application/xml"
        assert got.headers["etag"] == '"' + hashlib.sha1(body).hexdigest() + '"'
        assert (await client.delete(path, params=p)).status_code == 204
        assert (await client.get(path, params=p)).status_code == 404
        # Deleting what is not there is still 204.
        assert (await client.delete(path, params=p)).status_code == 204


async def test_post_creates_then_merges(client: httpx.AsyncClient) -> None:
    for make in RESOURCES:
        path, p = make()
        assert (await client.post(path, params=p, json={"car": "Honda"})).status_code == 204
        assert (await client.post(path, params=p, json={"type": "Civic"})).status_code == 204
        assert (await client.get(path, params=p)).json() == {"car": "Honda", "type": "Civic"}


async def test_post_that_cannot_merge_is_400(client: httpx.AsyncClient) -> None:
    for make in RESOURCES:
        path, p = make()
        await client.post(path, params=p, json={"a": 1})
        for ctype, body in (
            ("application/octet-stream", b"abcdefg"),
            ("not/json", b"abcdefg"),
            ("application/json", b'{"x": 1}{'),
        ):
            r = await client.post(path, params=p, content=body, headers={"Content-Type": ctype})
            assert r.status_code == 400, (path, ctype)
        assert (await client.get(path, params=p)).json() == {"a": 1}
        path, p = make()
        octets = {**CREATE, "Content-Type": "application/octet-stream"}
        await client.put(path, params=p, content=b"/ asdf / undefined", headers=octets)
        assert (await client.post(path, params=p, json={"b": 2})).status_code == 400
        assert (await client.get(path, params=p)).content == b"/ asdf / undefined"


async def test_required_and_malformed_parameters_are_400(client: httpx.AsyncClient) -> None:
    cases: list[tuple[str, dict[str, str]]] = []
    for method in ("PUT", "POST", "DELETE", "GET"):
        cases += [
            (method, {"profileId": "p"}),  # no activityId
            (method, {"activityId": "not an iri", "profileId": "p"}),
            (method, {"activityId": ACTIVITY, "profileId": "p", "agent": json.dumps(AGENT)}),
        ]
    for method, p in cases:
        r = await client.request(
            method, "/activities/profile", params=p, json={"a": 1}, headers=CREATE
        )
        assert r.status_code == 400, (method, p)
    agent_cases: list[tuple[str, dict[str, str]]] = []
    for method in ("PUT", "POST", "DELETE", "GET"):
        agent_cases += [
            (method, {"profileId": "p"}),  # no agent
            (method, {"agent": "true", "profileId": "p"}),
            (method, {"agent": '{"objectType"""Agent"}', "profileId": "p"}),
            (method, {"agent": json.dumps({"name": "anonymous"}), "profileId": "p"}),
            (method, {"agent": json.dumps(AGENT), "profileId": "p", "activityId": ACTIVITY}),
        ]
    for method, p in agent_cases:
        r = await client.request(method, "/agents/profile", params=p, json={"a": 1}, headers=CREATE)
        assert r.status_code == 400, (method, p)
    # The id is required to write and to delete a profile.
    for path, p in (activity_profile(), agent_profile()):
        for method in ("PUT", "POST", "DELETE"):
            r = await client.request(method, path, params=listing(p), json={"a": 1}, headers=CREATE)
            assert r.status_code == 400, (path, method)


async def test_id_list_and_since(client: httpx.AsyncClient) -> None:
    activity = f"{ACTIVITY}/{uuid.uuid4()}"
    agent = {"mbox": f"mailto:{uuid.uuid4()}@example.com"}
    owners: list[Callable[[], tuple[str, dict[str, str]]]] = [
        lambda: activity_profile(activity),
        lambda: agent_profile(agent),
    ]
    for make in owners:
        path, old = make()
        await client.post(path, params=old, json={"a": 1})
        await asyncio.sleep(0.01)
        since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        await asyncio.sleep(0.01)
        _, new = make()
        await client.post(path, params=new, json={"b": 1})
        everything = await client.get(path, params=listing(old))
        assert sorted(everything.json()) == sorted([old["profileId"], new["profileId"]])
        later = await client.get(path, params={**listing(old), "since": since})
        assert later.json() == [new["profileId"]]
        bad = await client.get(path, params={**listing(old), "since": "true"})
        assert bad.status_code == 400


# --- 1.0.3 Communication 3.1: ETags and preconditions --------------------------------------------


async def test_v103_put_needs_a_precondition(client: httpx.AsyncClient) -> None:
    for make in RESOURCES:
        path, p = make()
        # New document without If-Match / If-None-Match: the 1.0.3 suite expects an error.
        r = await client.put(path, params=p, json={"a": 1})
        assert r.status_code == 400
        assert r.json()["error"]["message"]
        assert (await client.get(path, params=p)).status_code == 404
        assert (await client.put(path, params=p, json={"a": 1}, headers=CREATE)).status_code == 204
        # Existing document without a precondition: 409, message, unchanged.
        r = await client.put(path, params=p, json={"a": 2})
        assert r.status_code == 409
        assert r.json()["error"]["message"]
        assert (await client.get(path, params=p)).json() == {"a": 1}


async def test_v103_if_match_and_if_none_match(client: httpx.AsyncClient) -> None:
    for make in RESOURCES:
        path, p = make()
        assert (await client.put(path, params=p, json={"a": 1}, headers=CREATE)).status_code == 204
        # If-None-Match: * over an existing document.
        assert (await client.put(path, params=p, json={"a": 9}, headers=CREATE)).status_code == 412
        current = await client.get(path, params=p)
        etag = current.headers["etag"]
        assert etag == '"' + hashlib.sha1(current.content).hexdigest() + '"'
        bad = {"If-Match": '"1111111111111111111111111111111111111111"'}
        assert (await client.put(path, params=p, json={"a": 2}, headers=bad)).status_code == 412
        assert (await client.get(path, params=p)).json() == {"a": 1}
        ok = await client.put(path, params=p, json={"a": 3}, headers={"If-Match": etag})
        assert ok.status_code == 204
        assert (await client.get(path, params=p)).json() == {"a": 3}
        # The old tag is stale now; a list containing the current one matches.
        stale = {"If-Match": etag}
        assert (await client.put(path, params=p, json={"a": 4}, headers=stale)).status_code == 412
        several = {"If-Match": f'"abc", {ok.headers["etag"]}'}
        assert (await client.put(path, params=p, json={"a": 5}, headers=several)).status_code == 204
        anything = {"If-Match": "*"}
        assert (
            await client.put(path, params=p, json={"a": 6}, headers=anything)
        ).status_code == 204
        # If-Match on a missing document fails.
        path2, p2 = make()
        assert (await client.put(path2, params=p2, json={}, headers=anything)).status_code == 412


async def test_get_with_matching_if_none_match_is_304(client: httpx.AsyncClient) -> None:
    path, p = agent_profile()
    await client.post(path, params=p, json={"a": 1})
    etag = (await client.get(path, params=p)).headers["etag"]
    r = await client.get(path, params=p, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.headers["etag"] == etag
    assert (await client.get(path, params=p, headers={"If-None-Match": '"x"'})).status_code == 200


# --- 2.0 4.1.4: concurrency on PUT, POST and DELETE; Last-Modified --------------------------------


async def test_v2_unconditional_put(client2: httpx.AsyncClient) -> None:
    for make in RESOURCES:
        path, p = make()
        assert (await client2.put(path, params=p, json={"a": 1})).status_code == 204
        r = await client2.put(path, params=p, json={"a": 2})
        assert r.status_code == 409
        assert r.json()["error"]["message"]
        assert (await client2.get(path, params=p)).json() == {"a": 1}


async def test_v2_if_match_on_put_post_delete(client2: httpx.AsyncClient) -> None:
    for make in RESOURCES:
        path, p = make()
        await client2.post(path, params=p, json={"name": "original"})
        tag = (await client2.get(path, params=p)).headers["etag"]
        wrong = {"If-Match": '"1234"'}
        for method in ("PUT", "POST"):
            r = await client2.request(method, path, params=p, json={"name": "x"}, headers=wrong)
            assert r.status_code == 412, (path, method)
        assert (await client2.delete(path, params=p, headers=wrong)).status_code == 412
        assert (await client2.get(path, params=p)).json() == {"name": "original"}
        put = await client2.put(path, params=p, json={"name": "put"}, headers={"If-Match": tag})
        assert put.status_code == 204
        tag = put.headers["etag"]
        post = await client2.post(path, params=p, json={"n": 2}, headers={"If-Match": tag})
        assert post.status_code == 204
        assert (await client2.get(path, params=p)).json() == {"name": "put", "n": 2}
        gone = await client2.delete(path, params=p, headers={"If-Match": post.headers["etag"]})
        assert gone.status_code == 204
        assert (await client2.get(path, params=p)).status_code == 404


async def test_v2_last_modified(client2: httpx.AsyncClient) -> None:
    path, p = activity_profile()
    await client2.post(path, params=p, json={"a": 1})
    first = (await client2.get(path, params=p)).headers["last-modified"]
    await asyncio.sleep(1.1)
    await client2.post(path, params=p, json={"a": 2})
    second = (await client2.get(path, params=p)).headers["last-modified"]
    assert parsedate_to_datetime(second) > parsedate_to_datetime(first)
