"""X-Experience-API-Consistent-Through on PostgreSQL: every statement stored at or before it is
visible to the query it came with; a reading is reused for a short while, never past a writer."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import httpx
import pytest

from learnproof_lrs.adapters.db.statements_repo import StatementWrites
from learnproof_lrs.bootstrap import Lrs

# The conftest's `lrs` / `client` fixtures, on PostgreSQL only (SQLite has no reading to reuse).
pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)]
)

VERB = {"id": "http://adlnet.gov/expapi/verbs/completed"}


async def _post(http: httpx.AsyncClient) -> datetime:
    """Store one statement; its `stored`."""
    sid = str(uuid.uuid4())
    body = {"id": sid, "actor": {"mbox": "mailto:ada@example.com"}, "verb": VERB}
    body["object"] = {"id": "https://courses.example.com/ai-ethics"}
    assert (await http.post("/statements", json=body)).status_code == 200
    got = await http.get("/statements", params={"statementId": sid})
    return datetime.fromisoformat(got.json()["stored"])


async def _through(http: httpx.AsyncClient, **params: str) -> datetime:
    response = await http.get("/statements", params=params)
    assert response.status_code == 200
    return datetime.fromisoformat(response.headers["x-experience-api-consistent-through"])


async def test_a_reading_is_reused_within_its_max_age_and_renewed_after(
    lrs: Lrs, client: httpx.AsyncClient
) -> None:
    first = await _post(client)
    await asyncio.sleep(0.01)  # a fresh reading is held 1 ms back: let the clock pass that
    lrs.db.through_max_age = 5.0
    lrs.db.through_reading = None
    reading = await _through(client)
    assert reading >= first
    later = await _post(client)
    # Within the max age the same (older, still true) reading answers ...
    assert await _through(client) == reading
    assert await _through(client, verb=VERB["id"]) == reading
    assert reading < later
    # ... and once it has aged, a new one covers the later statement.
    lrs.db.through_max_age = 0.0
    assert await _through(client) >= later


async def test_a_running_writer_holds_the_header_back(lrs: Lrs, client: httpx.AsyncClient) -> None:
    """A statement whose transaction is still open is not visible, so the header must stay
    before its `stored` (read from the clock inside that transaction) until it commits."""
    lrs.db.through_max_age = 0.0
    await _post(client)
    async with lrs.db.write() as conn:
        _, writer_now = await StatementWrites(conn).begin([str(uuid.uuid4())])
        assert writer_now is not None
        await asyncio.sleep(0.05)  # the clock moves well past the writer's `stored`
        assert await _through(client) < writer_now
        # A reading reused from while the writer ran keeps holding back after it commits.
        lrs.db.through_max_age = 5.0
        held = await _through(client)
    assert held < writer_now
    assert await _through(client) == held
    lrs.db.through_max_age = 0.0
    assert await _through(client) >= writer_now
