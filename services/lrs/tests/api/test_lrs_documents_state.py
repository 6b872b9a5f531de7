"""State resource (xAPI 1.0.3 Communication 2.2 / 2.3; xAPI 2.0 4.1.6.2), on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from learnproof_lrs.bootstrap import Lrs

STATE = "/activities/state"
ACTIVITY = "http://www.example.com/activities/state-test"
AGENT = {"objectType": "Agent", "account": {"homePage": "http://www.example.com", "name": "rick"}}


def params(**overrides: Any) -> dict[str, str]:
    base: dict[str, Any] = {
        "activityId": ACTIVITY,
        "agent": AGENT,
        "stateId": str(uuid.uuid4()),
    }
    base.update(overrides)
    return {
        k: json.dumps(v) if isinstance(v, dict) else str(v)
        for k, v in base.items()
        if v is not None
    }


def without(p: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in p.items() if k not in names}


# --- Communication 2.3: the resource and its methods -------------------------------------------


async def test_put_then_get_returns_the_bytes_and_content_type(client: httpx.AsyncClient) -> None:
    p = params()
    body = b"\x00\x01binary \xff state"
    r = await client.put(STATE, params=p, content=body, headers={"Content-Type": "image/x-demo"})
    assert r.status_code == 204, r.text
    got = await client.get(STATE, params=p)
    assert got.status_code == 200
    assert got.content == body
    assert got.headers["content-type"] == "image/x-demo"
    assert got.headers["etag"] == '"' + hashlib.sha1(body).hexdigest() + '"'
    assert r.headers["etag"] == got.headers["etag"]


async def test_json_put_is_byte_exact(client: httpx.AsyncClient) -> None:
    p = params()
    body = b'{ "b" : 1,\n  "a": [1, 2.50] }'
    r = await client.put(
        STATE, params=p, content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 204
    got = await client.get(STATE, params=p)
    assert got.content == body
    assert got.headers["content-type"] == "application/json"


async def test_post_new_document_is_stored_like_put(client: httpx.AsyncClient) -> None:
    p = params()
    assert (await client.post(STATE, params=p, json={"car": "Honda"})).status_code == 204
    got = await client.get(STATE, params=p)
    assert got.json() == {"car": "Honda"}


async def test_missing_document_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get(STATE, params=params())).status_code == 404


async def test_head_has_headers_but_no_body(client: httpx.AsyncClient) -> None:
    p = params()
    await client.post(STATE, params=p, json={"a": 1})
    r = await client.head(STATE, params=p)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["etag"].startswith('"')


# --- Communication 2.2: document merge on POST --------------------------------------------------


async def test_post_merges_top_level_properties(client: httpx.AsyncClient) -> None:
    p = params()
    await client.post(STATE, params=p, json={"car": "Honda", "keep": 1})
    assert (
        await client.post(STATE, params=p, json={"type": "Civic", "car": "Ford"})
    ).status_code == 204
    got = await client.get(STATE, params=p)
    assert got.json() == {"car": "Ford", "keep": 1, "type": "Civic"}
    assert got.headers["content-type"] == "application/json"
    assert got.headers["etag"] == '"' + hashlib.sha1(got.content).hexdigest() + '"'


async def test_merge_replaces_nested_objects_whole(client: httpx.AsyncClient) -> None:
    p = params()
    await client.post(STATE, params=p, json={"car": {"make": "Ford", "model": "Escape"}, "d": "x"})
    await client.post(STATE, params=p, json={"car": {"make": "Dodge"}})
    assert (await client.get(STATE, params=p)).json() == {"car": {"make": "Dodge"}, "d": "x"}


UNMERGEABLE = [
    ("application/json", b'{"a": 1}', "not/json", b"abcdefg"),
    ("application/json", b'{"a": 1}', "application/x-www-form-urlencoded", b"abc"),
    ("application/octet-stream", b"/ asdf / undefined", "application/json", b'{"b": 2}'),
    ("application/json", b'{"a": 1}', "application/json", b'{"b": 2}{'),
    ("application/json", b'{"a": 1}', "application/json", b"[1, 2]"),
    ("application/json", b"[1, 2]", "application/json", b'{"b": 2}'),
    ("text/plain", b"one", "text/plain", b"two"),
]


async def test_post_that_cannot_merge_is_400_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    for first_type, first, second_type, second in UNMERGEABLE:
        case = (first_type, second_type, second)
        p = params()
        r = await client.put(STATE, params=p, content=first, headers={"Content-Type": first_type})
        assert r.status_code == 204, case
        r = await client.post(
            STATE, params=p, content=second, headers={"Content-Type": second_type}
        )
        assert r.status_code == 400, case
        assert r.json()["error"]["message"], case
        got = await client.get(STATE, params=p)
        assert got.content == first, case
        assert got.headers["content-type"] == first_type, case


async def test_post_of_invalid_json_to_a_new_document_is_400(client: httpx.AsyncClient) -> None:
    p = params()
    r = await client.post(
        STATE, params=p, content=b'{"a": 1}[', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert (await client.get(STATE, params=p)).status_code == 404


# --- Communication 2.3: parameters ---------------------------------------------------------------


BAD_PARAMETERS: list[dict[str, Any]] = [
    {"activityId": None},
    {"agent": None},
    {"agent": "not JSON"},
    {"agent": "true"},
    {"agent": {"objectType": "Agent", "name": "no identifier"}},
    {"agent": {"mbox": "not-a-mailto"}},
    {"activityId": "not an IRI"},
    {"registration": "true"},
    {"registration": "1234"},
    {"unknown": "x"},
]


async def test_bad_parameters_are_400_for_every_method(client: httpx.AsyncClient) -> None:
    for method in ("PUT", "POST", "GET", "DELETE"):
        for bad in BAD_PARAMETERS:
            p = params(**bad)
            body = {"a": 1} if method in ("PUT", "POST") else None
            r = await client.request(method, STATE, params=p, json=body)
            assert r.status_code == 400, (method, bad, r.text)
            assert r.json()["error"]["message"]
    # Nothing was written by any of them.
    listing = {"activityId": ACTIVITY, "agent": json.dumps(AGENT)}
    assert (await client.get(STATE, params=listing)).json() == []


async def test_broken_agent_encoding_is_400(client: httpx.AsyncClient) -> None:
    broken = "%7B%22objectType%22%22%22Agent%22%7D"
    r = await client.post(
        f"{STATE}?activityId={ACTIVITY}&stateId=x&agent={broken}",
        json={"a": 1},
    )
    assert r.status_code == 400


async def test_state_id_is_required_to_write(client: httpx.AsyncClient) -> None:
    for method in ("PUT", "POST"):
        r = await client.request(method, STATE, params=without(params(), "stateId"), json={"a": 1})
        assert r.status_code == 400, method


async def test_registration_keeps_documents_apart(client: httpx.AsyncClient) -> None:
    reg = str(uuid.uuid4())
    p = params()
    with_reg = {**p, "registration": reg.upper()}
    await client.put(STATE, params=p, json={"which": "none"})
    await client.put(STATE, params=with_reg, json={"which": "reg"})
    assert (await client.get(STATE, params=p)).json() == {"which": "none"}
    assert (await client.get(STATE, params={**p, "registration": reg})).json() == {"which": "reg"}
    other = {**p, "registration": str(uuid.uuid4())}
    assert (await client.get(STATE, params=other)).status_code == 404


async def test_equivalent_agent_spellings_share_documents(client: httpx.AsyncClient) -> None:
    p = params(agent={"mbox": "mailto:same@example.com"})
    await client.put(STATE, params=p, json={"a": 1})
    alias = {
        **p,
        "agent": json.dumps(
            {"objectType": "Agent", "name": "x", "mbox": "mailto:same@example.com"}
        ),
    }
    assert (await client.get(STATE, params=alias)).json() == {"a": 1}


# --- Communication 2.3: the ids of many documents, since ------------------------------------------


async def test_get_without_state_id_lists_ids(client: httpx.AsyncClient) -> None:
    activity = f"{ACTIVITY}/{uuid.uuid4()}"
    a, b = params(activityId=activity), params(activityId=activity)
    await client.post(STATE, params=a, json={"a": 1})
    await client.post(STATE, params=b, json={"b": 1})
    await client.post(STATE, params=params(), json={"elsewhere": 1})
    r = await client.get(STATE, params=without(a, "stateId"))
    assert r.status_code == 200
    assert sorted(r.json()) == sorted([a["stateId"], b["stateId"]])
    assert r.headers["content-type"] == "application/json"


async def test_since_returns_only_later_documents(client: httpx.AsyncClient) -> None:
    activity = f"{ACTIVITY}/{uuid.uuid4()}"
    old, new = params(activityId=activity), params(activityId=activity)
    await client.post(STATE, params=old, json={"a": 1})
    await asyncio.sleep(0.01)
    since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    await asyncio.sleep(0.01)
    await client.post(STATE, params=new, json={"b": 1})
    listing = without(old, "stateId")
    r = await client.get(STATE, params={**listing, "since": since})
    assert r.status_code == 200
    assert r.json() == [new["stateId"]]
    everything = await client.get(STATE, params={**listing, "since": "2000-01-01T00:00:00Z"})
    assert sorted(everything.json()) == sorted([old["stateId"], new["stateId"]])


async def test_bad_since_is_400(client: httpx.AsyncClient) -> None:
    for since in ("not a timestamp", "true", "2020-13-01T00:00:00Z"):
        r = await client.get(STATE, params={**without(params(), "stateId"), "since": since})
        assert r.status_code == 400, since


async def test_registration_filters_the_id_list(client: httpx.AsyncClient) -> None:
    activity = f"{ACTIVITY}/{uuid.uuid4()}"
    reg = str(uuid.uuid4())
    plain = params(activityId=activity)
    registered = params(activityId=activity, registration=reg)
    await client.post(STATE, params=plain, json={"a": 1})
    await client.post(STATE, params=registered, json={"a": 2})
    listing = without(plain, "stateId")
    assert (await client.get(STATE, params={**listing, "registration": reg})).json() == [
        registered["stateId"]
    ]
    # Without a registration the list covers every registration of the activity and agent.
    assert sorted((await client.get(STATE, params=listing)).json()) == sorted(
        [plain["stateId"], registered["stateId"]]
    )


# --- Communication 2.3: DELETE one / all ----------------------------------------------------------


async def test_delete_one(client: httpx.AsyncClient) -> None:
    p = params()
    await client.post(STATE, params=p, json={"a": 1})
    assert (await client.delete(STATE, params=p)).status_code == 204
    assert (await client.get(STATE, params=p)).status_code == 404


async def test_delete_all_for_activity_and_agent(client: httpx.AsyncClient) -> None:
    activity = f"{ACTIVITY}/{uuid.uuid4()}"
    a, b = params(activityId=activity), params(activityId=activity)
    keep = params()
    for p in (a, b, keep):
        await client.post(STATE, params=p, json={"x": 1})
    assert (await client.delete(STATE, params=without(a, "stateId"))).status_code == 204
    assert (await client.get(STATE, params=without(a, "stateId"))).json() == []
    assert (await client.get(STATE, params=keep)).status_code == 200


async def test_delete_all_of_one_registration(client: httpx.AsyncClient) -> None:
    activity = f"{ACTIVITY}/{uuid.uuid4()}"
    reg = str(uuid.uuid4())
    plain = params(activityId=activity)
    registered = params(activityId=activity, registration=reg)
    await client.post(STATE, params=plain, json={"a": 1})
    await client.post(STATE, params=registered, json={"a": 2})
    await client.delete(STATE, params=without(registered, "stateId"))
    assert (await client.get(STATE, params=without(plain, "stateId"))).json() == [plain["stateId"]]


# --- Concurrency (1.0.3 Communication 3.1 leaves State unconditional; 2.0 4.1.4 does not) --------


async def test_v103_state_put_overwrites_without_precondition(client: httpx.AsyncClient) -> None:
    p = params()
    await client.put(STATE, params=p, json={"v": 1})
    assert (await client.put(STATE, params=p, json={"v": 2})).status_code == 204
    assert (await client.get(STATE, params=p)).json() == {"v": 2}


async def test_v2_state_put_over_existing_without_precondition_is_409(
    client2: httpx.AsyncClient,
) -> None:
    p = params()
    assert (await client2.put(STATE, params=p, json={"v": 1})).status_code == 204
    r = await client2.put(STATE, params=p, json={"v": 2})
    assert r.status_code == 409
    assert r.json()["error"]["message"]
    assert (await client2.get(STATE, params=p)).json() == {"v": 1}


async def test_v2_state_if_match(client2: httpx.AsyncClient) -> None:
    p = params()
    await client2.post(STATE, params=p, json={"v": 1})
    etag = (await client2.get(STATE, params=p)).headers["etag"]
    wrong = {"If-Match": '"1234"'}
    assert (await client2.put(STATE, params=p, json={"v": 2}, headers=wrong)).status_code == 412
    assert (await client2.post(STATE, params=p, json={"v": 2}, headers=wrong)).status_code == 412
    assert (await client2.delete(STATE, params=p, headers=wrong)).status_code == 412
    assert (await client2.get(STATE, params=p)).json() == {"v": 1}
    ok = await client2.post(STATE, params=p, json={"v": 3}, headers={"If-Match": etag})
    assert ok.status_code == 204
    assert (await client2.get(STATE, params=p)).json() == {"v": 3}
    new_tag = ok.headers["etag"]
    assert (await client2.delete(STATE, params=p, headers={"If-Match": new_tag})).status_code == 204
    assert (await client2.get(STATE, params=p)).status_code == 404


async def test_v2_last_modified_advances(client2: httpx.AsyncClient) -> None:
    p = params()
    await client2.post(STATE, params=p, json={"v": 1})
    first = (await client2.get(STATE, params=p)).headers["last-modified"]
    await asyncio.sleep(1.1)
    await client2.post(STATE, params=p, json={"v": 2})
    second = (await client2.get(STATE, params=p)).headers["last-modified"]
    assert parsedate_to_datetime(second) > parsedate_to_datetime(first)


# --- Size limit, scopes, stores -------------------------------------------------------------------


async def test_document_over_the_limit_is_413(client: httpx.AsyncClient, lrs: Lrs) -> None:
    lrs.settings.max_document_bytes = 1000
    p = params()
    r = await client.put(
        STATE, params=p, content=b"x" * 1001, headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 413
    assert (await client.get(STATE, params=p)).status_code == 404
    ok = await client.put(
        STATE, params=p, content=b"x" * 1000, headers={"Content-Type": "text/plain"}
    )
    assert ok.status_code == 204


# --- 1.0.3 Communication 1.3: the alternate request syntax reaches the document resources ------


async def test_alternate_request_syntax_put_and_get(client: httpx.AsyncClient) -> None:
    p = params()
    form = {
        **p,
        "content": '{"via": "form"}',
        "Content-Type": "application/json",
        "Authorization": client.headers["authorization"],
        "X-Experience-API-Version": "1.0.3",
    }
    bare = {"Content-Type": "application/x-www-form-urlencoded"}
    r = await client.post(f"{STATE}?method=PUT", data=form, headers={**bare, "Authorization": ""})
    assert r.status_code == 204, r.text
    got = await client.post(
        f"{STATE}?method=GET", data={k: v for k, v in form.items() if k != "content"}, headers=bare
    )
    assert got.status_code == 200
    assert got.json() == {"via": "form"}
