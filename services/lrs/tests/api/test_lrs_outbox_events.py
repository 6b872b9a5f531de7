"""What the LRS publishes (architecture: outbox in the same transaction; schemas/ contracts)."""

from __future__ import annotations

import uuid

import httpx

from learnproof_events.outbox import START, read_after
from learnproof_events.schemas import validate_event
from learnproof_lrs.adapters.db.tables import outbox
from learnproof_lrs.bootstrap import Lrs

ACTIVITY = {"id": "https://courses.example.com/ai-ethics"}
VERB = {"id": "http://adlnet.gov/expapi/verbs/passed"}


async def _events(lrs: Lrs) -> list[object]:
    async with lrs.db.read() as conn:
        rows = await read_after(conn, outbox, START, limit=1000)
    return [r.event for r in rows]


async def test_every_stored_and_voided_statement_is_published_and_valid(
    client: httpx.AsyncClient, client2: httpx.AsyncClient, lrs: Lrs
) -> None:
    target = str(uuid.uuid4())
    early_target = str(uuid.uuid4())
    agents = [
        {"mbox": "mailto:ada@example.com"},
        {"account": {"homePage": "https://idp.example.com", "name": "u-42"}},
        {"mbox_sha1sum": "a" * 40},
        {"objectType": "Group", "member": [{"mbox": "mailto:b@example.com"}]},
    ]
    batch = [{"actor": a, "verb": VERB, "object": ACTIVITY} for a in agents]
    batch[0]["id"] = target
    assert (await client.post("/statements", json=batch)).status_code == 200
    voiding = {
        "actor": agents[0],
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": target},
    }
    assert (await client2.post("/statements", json=voiding)).status_code == 200
    # A voiding statement that arrives before its target: both events once the target comes.
    early = {**voiding, "object": {"objectType": "StatementRef", "id": early_target}}
    assert (await client.post("/statements", json=early)).status_code == 200
    late = {"id": early_target, "actor": agents[1], "verb": VERB, "object": ACTIVITY}
    assert (await client.post("/statements", json=late)).status_code == 200

    events = await _events(lrs)
    for event in events:
        validate_event(event)  # type: ignore[arg-type]
    kinds = [(e.type, e.subject) for e in events]  # type: ignore[attr-defined]
    assert kinds.count(("xapi.statement.voided", target)) == 1
    assert kinds.count(("xapi.statement.voided", early_target)) == 1
    stored = [k for k in kinds if k[0] == "xapi.statement.stored"]
    assert len(stored) == 7 == len({s for _, s in stored})
    # The voided event follows the stored event of its target, on the target actor's key.
    assert kinds.index(("xapi.statement.stored", early_target)) < kinds.index(
        ("xapi.statement.voided", early_target)
    )
    by_subject = {e.subject: e for e in events if e.type == "xapi.statement.stored"}  # type: ignore[attr-defined]
    assert by_subject[target].key == "mbox:mailto:ada@example.com"  # type: ignore[attr-defined]
    assert by_subject[early_target].key == "account:https://idp.example.com|u-42"  # type: ignore[attr-defined]


async def test_a_rejected_batch_publishes_nothing(client: httpx.AsyncClient, lrs: Lrs) -> None:
    bad = [{"actor": {"mbox": "mailto:a@b.c"}, "verb": VERB, "object": ACTIVITY}, {"verb": VERB}]
    assert (await client.post("/statements", json=bad)).status_code == 400
    assert await _events(lrs) == []
