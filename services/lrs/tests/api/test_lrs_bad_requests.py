"""Malformed requests (xAPI Communication 3.2 errors): each gets its status, writes nothing."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from learnproof_lrs.bootstrap import Lrs
from learnproof_lrs.service_layer.credentials import create_credential

GOOD: dict[str, Any] = {
    "actor": {"mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "https://courses.example.com/ai-ethics"},
}


def with_(**changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(GOOD))
    for dotted, value in changes.items():
        node = body
        *parents, last = dotted.split("__")
        for name in parents:
            node = node.setdefault(name, {})
        if value is _DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return body


_DELETE = object()


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


@dataclass
class Case:
    name: str
    status: int
    method: str = "POST"
    json_body: Any = None
    raw: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    path: str = "/statements"


BAD_STATEMENTS: list[tuple[str, dict[str, Any]]] = [
    ("no actor", with_(actor=_DELETE)),
    ("no verb", with_(verb=_DELETE)),
    ("no object", with_(object=_DELETE)),
    ("actor without identifier", with_(actor={"name": "nobody"})),
    ("actor with two identifiers", with_(actor={"mbox": "mailto:a@b.c", "openid": "http://a.b/c"})),
    ("mbox without mailto", with_(actor={"mbox": "ada@example.com"})),
    ("mbox_sha1sum not hex", with_(actor={"mbox_sha1sum": "xyz"})),
    ("account without name", with_(actor={"account": {"homePage": "https://idp.example.com"}})),
    ("account homePage not an IRL", with_(actor={"account": {"homePage": "idp", "name": "a"}})),
    ("actor objectType unknown", with_(actor={"objectType": "Robot", "mbox": "mailto:a@b.c"})),
    ("anonymous group without members", with_(actor={"objectType": "Group"})),
    (
        "group member is a group",
        with_(
            actor={
                "objectType": "Group",
                "member": [{"objectType": "Group", "mbox": "mailto:g@b.c"}],
            }
        ),
    ),
    ("verb id not an IRI", with_(verb={"id": "completed"})),
    ("verb display not a language map", with_(verb={"id": GOOD["verb"]["id"], "display": "done"})),
    ("bad language tag", with_(verb={"id": GOOD["verb"]["id"], "display": {"not a tag!": "x"}})),
    ("object id not an IRI", with_(object={"id": "course 1"})),
    ("activity definition name not a map", with_(object__definition={"name": "x"})),
    ("unknown interactionType", with_(object__definition={"interactionType": "essay"})),
    ("statement ref without id", with_(object={"objectType": "StatementRef"})),
    ("statement ref id not a uuid", with_(object={"objectType": "StatementRef", "id": "x"})),
    (
        "substatement with id",
        with_(
            object={
                "objectType": "SubStatement",
                "id": str(uuid.uuid4()),
                "actor": GOOD["actor"],
                "verb": GOOD["verb"],
                "object": GOOD["object"],
            }
        ),
    ),
    (
        "nested substatement",
        with_(
            object={
                "objectType": "SubStatement",
                "actor": GOOD["actor"],
                "verb": GOOD["verb"],
                "object": {
                    "objectType": "SubStatement",
                    "actor": GOOD["actor"],
                    "verb": GOOD["verb"],
                    "object": GOOD["object"],
                },
            }
        ),
    ),
    ("scaled score above 1", with_(result={"score": {"scaled": 1.5}})),
    ("raw below min", with_(result={"score": {"raw": 1, "min": 5, "max": 10}})),
    ("min above max", with_(result={"score": {"min": 10, "max": 5}})),
    ("success not boolean", with_(result={"success": "yes"})),
    ("duration not ISO 8601", with_(result={"duration": "10 minutes"})),
    ("registration not a uuid", with_(context={"registration": "abc"})),
    (
        "revision on a non-activity object",
        with_(object={"objectType": "Agent", "mbox": "mailto:x@y.z"}, context={"revision": "1"}),
    ),
    ("context activity without id", with_(context={"contextActivities": {"parent": [{}]}})),
    ("unknown context activities key", with_(context={"contextActivities": {"uncle": []}})),
    ("context language bad tag", with_(context={"language": "english please"})),
    ("extension key not an IRI", with_(result={"extensions": {"score": 1}})),
    ("bad timestamp", with_(timestamp="yesterday")),
    ("statement id not a uuid", with_(id="123")),
    ("unknown top-level property", with_(colour="blue")),
    (
        "property case differs",
        {**{k: v for k, v in GOOD.items() if k != "verb"}, "Verb": GOOD["verb"]},
    ),
    ("null property", with_(result=None)),
    ("voiding without StatementRef", with_(verb={"id": "http://adlnet.gov/expapi/verbs/voided"})),
    (
        "attachment without sha2",
        with_(
            attachments=[
                {
                    "usageType": "http://x.y/z",
                    "display": {"en": "a"},
                    "contentType": "text/plain",
                    "length": 1,
                }
            ]
        ),
    ),
    (
        "attachment without a part",
        with_(
            attachments=[
                {
                    "usageType": "http://x.y/z",
                    "display": {"en": "a"},
                    "contentType": "text/plain",
                    "length": 1,
                    "sha2": "a" * 64,
                }
            ]
        ),
    ),
    ("stored version 3", with_(version="3.0.0")),
]


def cases() -> list[Case]:
    out = [Case(f"statement: {name}", 400, json_body=body) for name, body in BAD_STATEMENTS]
    out += [
        Case("body is not JSON", 400, raw=b"{not json"),
        Case("body is a JSON string", 400, raw=b'"statement"'),
        Case("empty batch", 400, json_body=[]),
        Case("batch with one bad statement", 400, json_body=[GOOD, with_(verb=_DELETE)]),
        Case(
            "unsupported content type",
            400,
            raw=b"<xml/>",
            headers={"Content-Type": "application/xml"},
        ),
        Case("huge body", 413, raw=b"[" + b" " * 2_100_000 + b"]"),
        Case("no auth", 401, json_body=GOOD, headers={"Authorization": ""}),
        Case(
            "wrong secret",
            401,
            json_body=GOOD,
            headers={"Authorization": basic("test-key", "nope")},
        ),
        Case("unknown key", 401, json_body=GOOD, headers={"Authorization": basic("ghost", "x")}),
        Case(
            "read-only credential writes",
            403,
            json_body=GOOD,
            headers={"Authorization": basic("reader", "reader-secret")},
        ),
        Case("no version header", 400, json_body=GOOD, headers={"X-Experience-API-Version": ""}),
        Case(
            "unsupported version", 400, json_body=GOOD, headers={"X-Experience-API-Version": "0.95"}
        ),
        Case("PUT without statementId", 400, method="PUT", json_body=GOOD),
        Case(
            "PUT with bad statementId",
            400,
            method="PUT",
            json_body=GOOD,
            params={"statementId": "x"},
        ),
        Case(
            "PUT of an array",
            400,
            method="PUT",
            json_body=[GOOD],
            params={"statementId": str(uuid.uuid4())},
        ),
        Case("GET bad agent JSON", 400, method="GET", params={"agent": "{"}),
        Case("GET agent without IFI", 400, method="GET", params={"agent": '{"name": "x"}'}),
        Case("GET bad since", 400, method="GET", params={"since": "last week"}),
        Case("GET bad limit", 400, method="GET", params={"limit": "-1"}),
        Case("GET bad format", 400, method="GET", params={"format": "pretty"}),
        Case("GET unknown parameter", 400, method="GET", params={"colour": "blue"}),
        Case("GET bad registration", 400, method="GET", params={"registration": "x"}),
        Case("GET unknown statement", 404, method="GET", params={"statementId": str(uuid.uuid4())}),
        Case(
            "GET other store's statement",
            404,
            method="GET",
            params={"statementId": "OTHER"},
            headers={"Authorization": basic("tenant-b", "tenant-b-secret")},
        ),
        Case("GET with wrong more token", 400, method="GET", params={"more": "!!!"}),
    ]
    return out


async def _count(lrs: Lrs) -> int:
    import sqlalchemy as sa

    from learnproof_lrs.adapters.db.tables import outbox, statement_index, statements

    async with lrs.db.read() as conn:
        total = 0
        for table in (statements, statement_index, outbox):
            total += (
                await conn.execute(sa.select(sa.func.count()).select_from(table))
            ).scalar_one()
        return total


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
async def test_bad_request(case: Case, client: httpx.AsyncClient, lrs: Lrs) -> None:
    await create_credential(
        lrs.db,
        store_id="default",
        name="reader",
        key="reader",
        secret="reader-secret",
        scopes=["statements/read"],
    )
    await create_credential(
        lrs.db, store_id="tenant-b", name="b", key="tenant-b", secret="tenant-b-secret"
    )
    params = dict(case.params)
    if params.get("statementId") == "OTHER":
        stored = (await client.post("/statements", json=GOOD)).json()[0]
        params["statementId"] = stored
    before = await _count(lrs)
    kwargs: dict[str, Any] = {"params": params, "headers": case.headers}
    if case.raw is not None:
        kwargs["content"] = case.raw
        kwargs["headers"] = {"Content-Type": "application/json", **case.headers}
    elif case.json_body is not None:
        kwargs["json"] = case.json_body
    resp = await client.request(case.method, case.path, **kwargs)
    assert resp.status_code == case.status, resp.text
    if (resp.status_code != 204 and case.method != "GET") or case.status >= 400:
        body = resp.json()
        assert body["error"]["message"], "the error names what is wrong"
    assert await _count(lrs) == before, "a rejected request leaves no row behind"
