"""Keyset paging (xAPI Communication 2.1.3 `more`): 10,000 statements from 4 concurrent clients
come back exactly once, in order, ascending and descending, on both databases."""

from __future__ import annotations

import asyncio
import uuid

import httpx

CLIENTS = 4
BATCHES_PER_CLIENT = 25
BATCH = 100


def _batch(client_no: int, batch_no: int) -> list[dict[str, object]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "actor": {"mbox": f"mailto:learner{(client_no * 7 + i) % 50}@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": f"https://courses.example.com/c{batch_no % 10}"},
        }
        for i in range(BATCH)
    ]


async def _page_through(client: httpx.AsyncClient, ascending: bool) -> list[str]:
    ids: list[str] = []
    resp = await client.get(
        "/statements", params={"limit": "500", "ascending": str(ascending).lower(), "format": "ids"}
    )
    while True:
        assert resp.status_code == 200, resp.text
        body = resp.json()
        ids.extend(s["id"] for s in body["statements"])
        if not body["more"]:
            return ids
        resp = await client.get(body["more"].removeprefix("/xapi"))


async def test_ten_thousand_statements_page_exactly_once(client: httpx.AsyncClient) -> None:
    posted: list[str] = []

    async def writer(client_no: int) -> None:
        for batch_no in range(BATCHES_PER_CLIENT):
            resp = await client.post("/statements", json=_batch(client_no, batch_no))
            assert resp.status_code == 200, resp.text
            posted.extend(resp.json())

    # Readers page through while the writers write: a page must never repeat or skip.
    async def reader() -> None:
        for _ in range(3):
            ids = await _page_through(client, ascending=True)
            assert len(ids) == len(set(ids))

    await asyncio.gather(*(writer(n) for n in range(CLIENTS)), reader())
    assert len(posted) == CLIENTS * BATCHES_PER_CLIENT * BATCH
    ascending = await _page_through(client, ascending=True)
    descending = await _page_through(client, ascending=False)
    assert len(ascending) == len(set(ascending)) == len(posted)
    assert set(ascending) == set(posted)
    assert descending == ascending[::-1]


async def test_concurrent_writes_of_one_statement_id_never_fail(client: httpx.AsyncClient) -> None:
    """Same id from many clients at once: one stores, equal copies are no-ops, others get 409."""
    sid = str(uuid.uuid4())
    same = {
        "id": sid,
        "actor": {"mbox": "mailto:race@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://courses.example.com/race"},
    }
    different = {**same, "object": {"id": "https://courses.example.com/other"}}
    answers = await asyncio.gather(
        *(client.post("/statements", json=[same if n % 2 else different]) for n in range(20))
    )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {200, 409}, codes
    stored = (await client.get("/statements", params={"statementId": sid})).json()
    winner = stored["object"]["id"]
    # Every request carrying the winner's content was a no-op (200); every other one got 409.
    for n, answer in enumerate(answers):
        body = same if n % 2 else different
        expected = 200 if body["object"]["id"] == winner else 409
        assert answer.status_code == expected


async def test_voiding_racing_its_target_always_voids_it(client: httpx.AsyncClient) -> None:
    for _ in range(10):
        target = str(uuid.uuid4())
        statement = {
            "id": target,
            "actor": {"mbox": "mailto:race@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": "https://courses.example.com/race"},
        }
        voiding = {
            "actor": {"mbox": "mailto:admin@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": target},
        }
        answers = await asyncio.gather(
            client.post("/statements", json=statement), client.post("/statements", json=voiding)
        )
        assert [a.status_code for a in answers] == [200, 200]
        assert (await client.get("/statements", params={"statementId": target})).status_code == 404
        voided = await client.get("/statements", params={"voidedStatementId": target})
        assert voided.status_code == 200


async def test_concurrent_first_definitions_of_one_activity_never_fail(
    client: httpx.AsyncClient,
) -> None:
    """Many batches defining the same new activities at once (canonical definitions upserted)."""
    activities = [f"https://courses.example.com/new/{n}" for n in range(5)]

    def batch(lang: str) -> list[dict[str, object]]:
        return [
            {
                "actor": {"mbox": f"mailto:{lang}@example.com"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                "object": {"id": a, "definition": {"name": {lang: f"name {lang}"}}},
            }
            for a in (activities if lang < "m" else activities[::-1])
        ]

    langs = ["de", "en", "fr", "it", "nl", "pt", "sv", "es", "fi", "pl"]
    answers = await asyncio.gather(*(client.post("/statements", json=batch(x)) for x in langs))
    assert [a.status_code for a in answers] == [200] * len(langs)
    got = await client.get("/activities", params={"activityId": activities[0]})
    assert got.status_code == 200
    assert got.json()["definition"]["name"]  # one of the writers' names is canonical
