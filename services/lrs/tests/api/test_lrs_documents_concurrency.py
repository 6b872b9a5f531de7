"""Concurrent conditional writes to one document (xAPI Communication 3.1 / 2.0 4.1.4): exactly
one winner, no lost update, the winner's bytes stored — on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx

AGENT = json.dumps({"mbox": "mailto:race@example.com"})
WRITERS = 50


async def _created(client: httpx.AsyncClient, path: str, p: dict[str, str]) -> str:
    r = await client.put(path, params=p, json={"start": True}, headers={"If-None-Match": "*"})
    assert r.status_code == 204
    return r.headers["etag"]


async def test_50_concurrent_if_match_puts_have_exactly_one_winner(
    client: httpx.AsyncClient,
) -> None:
    path = "/agents/profile"
    p = {"agent": AGENT, "profileId": str(uuid.uuid4())}
    etag = await _created(client, path, p)
    bodies = [f'{{"writer": {i}, "pad": "{"x" * i}"}}'.encode() for i in range(WRITERS)]

    async def put(body: bytes) -> httpx.Response:
        headers = {"If-Match": etag, "Content-Type": "application/json"}
        return await client.put(path, params=p, content=body, headers=headers)

    answers = await asyncio.gather(*(put(b) for b in bodies))
    statuses = [r.status_code for r in answers]
    assert statuses.count(204) == 1, statuses
    assert statuses.count(412) == WRITERS - 1, statuses
    winner = bodies[statuses.index(204)]
    stored = await client.get(path, params=p)
    assert stored.content == winner
    assert stored.headers["etag"] == answers[statuses.index(204)].headers["etag"]


async def test_50_concurrent_if_match_puts_on_state_v2(client2: httpx.AsyncClient) -> None:
    path = "/activities/state"
    p = {"activityId": "http://example.com/race", "agent": AGENT, "stateId": str(uuid.uuid4())}
    etag = await _created(client2, path, p)

    async def put(i: int) -> httpx.Response:
        body = json.dumps({"writer": i}).encode()
        headers = {"If-Match": etag, "Content-Type": "application/json"}
        return await client2.put(path, params=p, content=body, headers=headers)

    answers = await asyncio.gather(*(put(i) for i in range(WRITERS)))
    statuses = [r.status_code for r in answers]
    assert sorted(set(statuses)) == [204, 412]
    assert statuses.count(204) == 1
    assert (await client2.get(path, params=p)).json() == {"writer": statuses.index(204)}


async def test_concurrent_creates_with_if_none_match_have_one_winner(
    client: httpx.AsyncClient,
) -> None:
    path = "/activities/profile"
    p = {"activityId": "http://example.com/race", "profileId": str(uuid.uuid4())}

    async def create(i: int) -> httpx.Response:
        return await client.put(path, params=p, json={"creator": i}, headers={"If-None-Match": "*"})

    statuses = [r.status_code for r in await asyncio.gather(*(create(i) for i in range(20)))]
    assert statuses.count(204) == 1, statuses
    assert statuses.count(412) == 19, statuses
    assert (await client.get(path, params=p)).json() == {"creator": statuses.index(204)}


async def test_concurrent_merges_lose_no_property(client: httpx.AsyncClient) -> None:
    path = "/activities/state"
    p = {"activityId": "http://example.com/race", "agent": AGENT, "stateId": str(uuid.uuid4())}

    async def merge(i: int) -> int:
        return (await client.post(path, params=p, json={f"k{i}": i})).status_code

    statuses = await asyncio.gather(*(merge(i) for i in range(30)))
    assert set(statuses) == {204}
    assert (await client.get(path, params=p)).json() == {f"k{i}": i for i in range(30)}
