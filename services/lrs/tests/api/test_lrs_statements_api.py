"""Statements resource (xAPI Communication 2.1): store, fetch, void, query — on both databases."""

from __future__ import annotations

import asyncio
import email.utils
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

ACTOR = {"objectType": "Agent", "mbox": "mailto:ada@example.com", "name": "Ada"}
VERB = {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}}
ACTIVITY = {
    "objectType": "Activity",
    "id": "https://courses.example.com/ai-ethics",
    "definition": {"name": {"en-US": "AI ethics", "de-DE": "KI-Ethik"}},
}


def statement(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"actor": ACTOR, "verb": VERB, "object": ACTIVITY}
    body.update(overrides)
    return body


# --- 2.1.1 PUT / POST ---------------------------------------------------------------------


async def test_put_then_get_returns_the_statement_with_lrs_properties(
    client: httpx.AsyncClient,
) -> None:
    sid = str(uuid.uuid4())
    put = await client.put("/statements", params={"statementId": sid}, json=statement())
    assert put.status_code == 204, put.text
    got = await client.get("/statements", params={"statementId": sid})
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == sid
    assert body["actor"] == ACTOR
    assert body["version"] == "1.0.0"
    assert body["stored"].endswith("Z")
    assert body["timestamp"] == body["stored"]
    assert body["authority"]["objectType"] == "Agent"
    assert got.headers["x-experience-api-version"] == "1.0.3"


async def test_post_batch_returns_ids_in_order(client: httpx.AsyncClient) -> None:
    given = str(uuid.uuid4())
    resp = await client.post("/statements", json=[statement(id=given), statement()])
    assert resp.status_code == 200, resp.text
    ids = resp.json()
    assert ids[0] == given
    assert len(ids) == 2 and uuid.UUID(ids[1])


async def test_same_id_and_same_statement_is_a_no_op(client: httpx.AsyncClient) -> None:
    sid = str(uuid.uuid4())
    assert (
        await client.put("/statements", params={"statementId": sid}, json=statement())
    ).status_code == 204
    again = await client.post("/statements", json=[statement(id=sid)])
    assert again.status_code == 200
    listing = await client.get("/statements", params={"verb": VERB["id"]})
    assert [s["id"] for s in listing.json()["statements"]].count(sid) == 1


async def test_same_id_different_statement_conflicts(client: httpx.AsyncClient) -> None:
    sid = str(uuid.uuid4())
    assert (
        await client.put("/statements", params={"statementId": sid}, json=statement())
    ).status_code == 204
    other = statement(verb={"id": "http://adlnet.gov/expapi/verbs/attempted"})
    resp = await client.put("/statements", params={"statementId": sid}, json=other)
    assert resp.status_code == 409


async def test_a_batch_is_all_or_nothing(client: httpx.AsyncClient) -> None:
    good = str(uuid.uuid4())
    bad = statement(verb={"id": "not an iri"})
    resp = await client.post("/statements", json=[statement(id=good), bad])
    assert resp.status_code == 400
    missing = await client.get("/statements", params={"statementId": good})
    assert missing.status_code == 404


async def test_duplicate_ids_within_one_batch_are_rejected(client: httpx.AsyncClient) -> None:
    sid = str(uuid.uuid4())
    resp = await client.post("/statements", json=[statement(id=sid), statement(id=sid)])
    assert resp.status_code == 400
    assert (await client.get("/statements", params={"statementId": sid})).status_code == 404


async def test_put_id_must_match_the_statement_id(client: httpx.AsyncClient) -> None:
    resp = await client.put(
        "/statements",
        params={"statementId": str(uuid.uuid4())},
        json=statement(id=str(uuid.uuid4())),
    )
    assert resp.status_code == 400


# --- 2.2 voiding ------------------------------------------------------------------------------


def voiding(target: str) -> dict[str, Any]:
    return statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": target},
    )


async def test_voided_statement_leaves_queries_but_is_found_by_voided_id(
    client: httpx.AsyncClient,
) -> None:
    target = str(uuid.uuid4())
    await client.put("/statements", params={"statementId": target}, json=statement())
    voider = (await client.post("/statements", json=voiding(target))).json()[0]
    assert (await client.get("/statements", params={"statementId": target})).status_code == 404
    found = await client.get("/statements", params={"voidedStatementId": target})
    assert found.status_code == 200 and found.json()["id"] == target
    ids = [s["id"] for s in (await client.get("/statements")).json()["statements"]]
    assert target not in ids and voider in ids


async def test_voiding_a_voiding_statement_is_rejected(client: httpx.AsyncClient) -> None:
    target = str(uuid.uuid4())
    await client.put("/statements", params={"statementId": target}, json=statement())
    voider = (await client.post("/statements", json=voiding(target))).json()[0]
    resp = await client.post("/statements", json=voiding(voider))
    assert resp.status_code == 400


async def test_voiding_before_the_target_arrives_still_voids_it(client: httpx.AsyncClient) -> None:
    target = str(uuid.uuid4())
    assert (await client.post("/statements", json=voiding(target))).status_code == 200
    await client.put("/statements", params={"statementId": target}, json=statement())
    assert (await client.get("/statements", params={"statementId": target})).status_code == 404
    assert (
        await client.get("/statements", params={"voidedStatementId": target})
    ).status_code == 200


# --- 2.1.3 GET queries ------------------------------------------------------------------------


async def test_filters_by_agent_verb_activity_registration(client: httpx.AsyncClient) -> None:
    registration = str(uuid.uuid4())
    other_actor = {"mbox": "mailto:bob@example.com"}
    s1 = statement(context={"registration": registration})
    s2 = statement(actor=other_actor, verb={"id": "http://adlnet.gov/expapi/verbs/attempted"})
    s3 = statement(object={"id": "https://courses.example.com/other"})
    ids = (await client.post("/statements", json=[s1, s2, s3])).json()

    async def query(**params: str) -> list[str]:
        resp = await client.get("/statements", params=params)
        assert resp.status_code == 200, resp.text
        return [s["id"] for s in resp.json()["statements"]]

    import json

    assert set(await query(agent=json.dumps(other_actor))) == {ids[1]}
    assert set(await query(verb="http://adlnet.gov/expapi/verbs/attempted")) == {ids[1]}
    assert set(await query(activity="https://courses.example.com/other")) == {ids[2]}
    assert set(await query(registration=registration)) == {ids[0]}


async def test_related_activities_include_context_activities(client: httpx.AsyncClient) -> None:
    parent = "https://courses.example.com/program"
    s = statement(context={"contextActivities": {"parent": [{"id": parent}]}})
    sid = (await client.post("/statements", json=s)).json()[0]
    plain = await client.get("/statements", params={"activity": parent})
    assert plain.json()["statements"] == []
    related = await client.get(
        "/statements", params={"activity": parent, "related_activities": "true"}
    )
    assert [x["id"] for x in related.json()["statements"]] == [sid]


async def test_statement_ref_matches_the_filters_of_its_target(client: httpx.AsyncClient) -> None:
    target = (await client.post("/statements", json=statement())).json()[0]
    ref = statement(
        verb={"id": "http://example.com/verbs/commented"},
        object={"objectType": "StatementRef", "id": target},
    )
    ref_id = (await client.post("/statements", json=ref)).json()[0]
    found = await client.get("/statements", params={"activity": ACTIVITY["id"]})
    assert {s["id"] for s in found.json()["statements"]} == {target, ref_id}


async def test_more_links_page_without_gaps_or_repeats(client: httpx.AsyncClient) -> None:
    await client.post("/statements", json=[statement() for _ in range(25)])
    for ascending in ("true", "false"):
        everything = await client.get("/statements", params={"limit": "0"})
        expected = [s["id"] for s in everything.json()["statements"]]
        seen: list[str] = []
        resp = await client.get("/statements", params={"limit": "7", "ascending": ascending})
        while True:
            body = resp.json()
            seen.extend(s["id"] for s in body["statements"])
            if not body["more"]:
                break
            # A write between pages must not shift the pages already being read.
            await client.post("/statements", json=statement())
            resp = await client.get(body["more"].removeprefix("/xapi"))
        assert len(seen) == len(set(seen))
        assert sorted(seen) == sorted(expected)
        assert seen == (expected[::-1] if ascending == "true" else expected)


async def test_page_boundaries_and_exact_bytes(
    client: httpx.AsyncClient, client2: httpx.AsyncClient
) -> None:
    # An `exact` page without attachments is the stored bytes joined by the database; every
    # statement on it is the one GET by id returns, and `more` appears only when a row is left.
    ids = (await client.post("/statements", json=[statement() for _ in range(4)])).json()
    full = await client.get("/statements", params={"limit": "4"})
    assert full.json()["more"] == ""
    assert [s["id"] for s in full.json()["statements"]] == ids[::-1]
    for got in full.json()["statements"]:
        alone = await client.get("/statements", params={"statementId": got["id"]})
        assert got == alone.json()
    short = await client.get("/statements", params={"limit": "3"})
    assert [s["id"] for s in short.json()["statements"]] == ids[:0:-1]
    rest = await client.get(short.json()["more"].removeprefix("/xapi"))
    assert [s["id"] for s in rest.json()["statements"]] == ids[:1]
    assert rest.json()["more"] == ""
    empty = await client.get("/statements", params={"verb": "http://example.com/never"})
    assert empty.json() == {"statements": [], "more": ""}
    assert (
        "last-modified"
        not in (
            await client2.get("/statements", params={"verb": "http://example.com/never"})
        ).headers
    )
    # 2.0: Last-Modified is the newest `stored` on the page.
    page = await client2.get("/statements", params={"limit": "2", "ascending": "true"})
    newest = max(s["stored"] for s in page.json()["statements"])
    stamp = email.utils.parsedate_to_datetime(page.headers["last-modified"])
    assert stamp.replace(microsecond=0) == datetime.fromisoformat(newest).replace(microsecond=0)


async def test_since_until_and_ascending(client: httpx.AsyncClient) -> None:
    first = (await client.post("/statements", json=statement())).json()[0]
    first_stored = (await client.get("/statements", params={"statementId": first})).json()["stored"]
    await asyncio.sleep(0.01)
    second = (await client.post("/statements", json=statement())).json()[0]
    after = await client.get("/statements", params={"since": first_stored})
    assert [s["id"] for s in after.json()["statements"]] == [second]
    upto = await client.get("/statements", params={"until": first_stored})
    assert [s["id"] for s in upto.json()["statements"]] == [first]
    both = await client.get("/statements", params={"ascending": "true"})
    assert [s["id"] for s in both.json()["statements"]] == [first, second]


async def test_formats_ids_and_canonical(client: httpx.AsyncClient) -> None:
    sid = (await client.post("/statements", json=statement())).json()[0]
    ids = (await client.get("/statements", params={"statementId": sid, "format": "ids"})).json()
    assert ids["actor"] == {"objectType": "Agent", "mbox": "mailto:ada@example.com"}
    assert ids["object"] == {"id": ACTIVITY["id"]}
    assert ids["verb"] == {"id": VERB["id"]}
    canonical = await client.get(
        "/statements",
        params={"statementId": sid, "format": "canonical"},
        headers={"Accept-Language": "de-DE"},
    )
    assert canonical.json()["object"]["definition"]["name"] == {"de-DE": "KI-Ethik"}


async def test_consistent_through_header_on_queries(client: httpx.AsyncClient) -> None:
    await client.post("/statements", json=statement())
    resp = await client.get("/statements")
    assert resp.headers["x-experience-api-consistent-through"].endswith("Z")


async def test_statement_id_with_other_filters_is_rejected(client: httpx.AsyncClient) -> None:
    resp = await client.get(
        "/statements", params={"statementId": str(uuid.uuid4()), "verb": VERB["id"]}
    )
    assert resp.status_code == 400


# --- version handling (xAPI 2.0) --------------------------------------------------------------


async def test_2_0_statements_keep_their_version_and_convert_timestamps(
    client2: httpx.AsyncClient,
) -> None:
    sid = str(uuid.uuid4())
    s = statement(timestamp="2026-03-01T12:00:00.500+02:00")
    assert (
        await client2.put("/statements", params={"statementId": sid}, json=s)
    ).status_code == 204
    got = await client2.get("/statements", params={"statementId": sid})
    assert got.json()["version"] == "2.0.0"
    assert got.json()["timestamp"] == "2026-03-01T10:00:00.500Z"
    assert "last-modified" in got.headers
    assert got.headers["x-experience-api-version"] == "2.0.0"


async def test_missing_version_header_is_rejected(client: httpx.AsyncClient) -> None:
    resp = await client.get("/statements", headers={"X-Experience-API-Version": ""})
    assert resp.status_code == 400


async def test_about_needs_no_auth_and_lists_both_versions(client: httpx.AsyncClient) -> None:
    resp = await client.get("/about", headers={"Authorization": ""})
    assert resp.status_code == 200
    assert set(resp.json()["version"]) >= {"1.0.3", "2.0.0"}


@pytest.mark.parametrize("auth", ["", "Basic Zm9vOmJhcg==", "Bearer abc", "Basic !!!"])
async def test_bad_credentials_get_401(client: httpx.AsyncClient, auth: str) -> None:
    resp = await client.get("/statements", headers={"Authorization": auth})
    assert resp.status_code == 401


async def test_alternate_request_syntax_put(client: httpx.AsyncClient) -> None:
    import json
    from urllib.parse import urlencode

    sid = str(uuid.uuid4())
    form = {
        "statementId": sid,
        "content": json.dumps(statement()),
        "Authorization": client.headers["Authorization"],
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    resp = await client.post(
        "/statements",
        params={"method": "PUT"},
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
    )
    assert resp.status_code == 204, resp.text
    assert (await client.get("/statements", params={"statementId": sid})).status_code == 200
