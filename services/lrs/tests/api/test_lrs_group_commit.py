"""Group commit: concurrent statement writes share transactions, yet every request gets exactly
the answer it would have had alone, all-or-nothing, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from learnproof_lrs.bootstrap import Lrs

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def _statement(sid: str | None = None, *, course: str = "c1", verb: str = "completed") -> dict:
    statement: dict[str, Any] = {
        "actor": {"mbox": "mailto:gc@example.com"},
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
        "object": {"id": f"https://courses.example.com/{course}"},
    }
    if sid is not None:
        statement["id"] = sid
    return statement


async def _ids(client: httpx.AsyncClient, **params: str) -> set[str]:
    resp = await client.get("/statements", params={"limit": "0", "format": "ids", **params})
    assert resp.status_code == 200, resp.text
    return {s["id"] for s in resp.json()["statements"]}


async def test_concurrent_requests_are_answered_as_if_alone(
    lrs: Lrs, client: httpx.AsyncClient
) -> None:
    assert lrs.coalescer is not None
    target = str(uuid.uuid4())
    stored_target = str(uuid.uuid4())
    twin = str(uuid.uuid4())
    resp = await client.post("/statements", json=_statement(stored_target))
    assert resp.status_code == 200
    before = lrs.coalescer.transactions

    plain = [_statement() for _ in range(30)] + [_statement(str(uuid.uuid4())) for _ in range(30)]
    requests: list[tuple[str, Any]] = [("ok", s) for s in plain]
    requests += [
        # the same id twice with different content: one stores, the other is a 409
        ("twin", _statement(twin, course="a")),
        ("twin", _statement(twin, course="b")),
        # a statement and its voiding statement in two requests at once
        ("ok", _statement(target)),
        (
            "ok",
            {
                **_statement(),
                "verb": {"id": VOIDED},
                "object": {"objectType": "StatementRef", "id": target},
            },
        ),
        # voiding a voiding statement is refused (400) -- only that request
        ("void-void", None),
        # a batch whose second statement conflicts with a stored one: nothing of it is kept
        ("conflict-batch", [_statement(), _statement(stored_target, course="other")]),
    ]
    voider_of_stored = str(uuid.uuid4())
    resp = await client.post(
        "/statements",
        json={
            "id": voider_of_stored,
            **{k: v for k, v in _statement().items() if k != "object"},
            "verb": {"id": VOIDED},
            "object": {"objectType": "StatementRef", "id": stored_target},
        },
    )
    assert resp.status_code == 200
    requests[-2] = (
        "void-void",
        {
            **_statement(),
            "verb": {"id": VOIDED},
            "object": {"objectType": "StatementRef", "id": voider_of_stored},
        },
    )

    answers = await asyncio.gather(*(client.post("/statements", json=body) for _, body in requests))

    statuses = [r.status_code for r in answers]
    kinds = [k for k, _ in requests]
    assert [s for s, k in zip(statuses, kinds, strict=True) if k == "ok"] == [200] * 62
    assert sorted(s for s, k in zip(statuses, kinds, strict=True) if k == "twin") == [200, 409]
    assert statuses[kinds.index("void-void")] == 400
    assert statuses[kinds.index("conflict-batch")] == 409
    # Fewer transactions than requests: they were grouped (the first request of a burst runs
    # alone; the rest queue behind it).
    assert lrs.coalescer.transactions - before < len(requests)

    stored = await _ids(client)
    returned = [sid for r in answers if r.status_code == 200 for sid in r.json()]
    assert len(returned) == len(set(returned)) == 63  # 62 "ok" + one twin
    # Exactly what the successful requests were answered is stored -- nothing of a refused
    # request -- apart from the target voided in the burst and the target voided before it.
    assert stored == (set(returned) - {target}) | {voider_of_stored}
    resp = await client.get("/statements", params={"voidedStatementId": target})
    assert resp.status_code == 200


async def test_a_failed_group_member_does_not_delay_or_change_the_others(
    lrs: Lrs, client: httpx.AsyncClient
) -> None:
    """A burst of 40 requests where every fourth one is refused by the database step (a
    conflict): all the others are stored, each refused one stores nothing."""
    taken = str(uuid.uuid4())
    assert (await client.post("/statements", json=_statement(taken))).status_code == 200
    bodies: list[Any] = []
    for i in range(40):
        if i % 4 == 3:
            bodies.append([_statement(str(uuid.uuid4())), _statement(taken, course="x")])
        else:
            bodies.append(_statement(str(uuid.uuid4())))
    answers = await asyncio.gather(*(client.post("/statements", json=b) for b in bodies))
    stored = await _ids(client)
    for body, answer in zip(bodies, answers, strict=True):
        if isinstance(body, list):
            assert answer.status_code == 409
            assert body[0]["id"] not in stored
        else:
            assert answer.status_code == 200
            assert answer.json() == [body["id"]]
            assert body["id"] in stored
