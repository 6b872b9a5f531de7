"""X-Experience-API-Consistent-Through on PostgreSQL: every statement stored at or before it is
visible to the query it came with; a reading is reused for a short while, never past a writer."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from learnproof_lrs.adapters.db.statements_repo import StatementWrites
from learnproof_lrs.bootstrap import Lrs, bootstrap
from learnproof_lrs.entrypoints.http.app import create_app
from learnproof_lrs.settings import LrsSettings

pytestmark = pytest.mark.postgres

KEY, SECRET = "through-key", "through-secret"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()

VERB = {"id": "http://adlnet.gov/expapi/verbs/completed"}


@pytest.fixture
async def pg_lrs(empty_pg_url: str) -> AsyncIterator[Lrs]:
    settings = LrsSettings(
        database_url=empty_pg_url,
        bootstrap_key=KEY,
        bootstrap_secret=SECRET,
        kdf_log2_n=10,
        consistent_through_max_age_ms=5_000,
    )
    lrs = bootstrap(settings)
    await lrs.start()
    try:
        yield lrs
    finally:
        await lrs.stop()


@pytest.fixture
async def http(pg_lrs: Lrs) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(lrs=pg_lrs)),
        base_url="http://lrs.test/xapi",
        headers={"Authorization": BASIC, "X-Experience-API-Version": "1.0.3"},
    ) as client:
        yield client


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
    pg_lrs: Lrs, http: httpx.AsyncClient
) -> None:
    first = await _post(http)
    reading = await _through(http)
    assert reading >= first
    later = await _post(http)
    # Within the max age the same (older, still true) reading answers ...
    assert await _through(http) == reading
    assert await _through(http, verb=VERB["id"]) == reading
    assert reading < later
    # ... and once it has aged, a new one covers the later statement.
    pg_lrs.db.through_max_age = 0.0
    assert await _through(http) >= later


async def test_a_running_writer_holds_the_header_back(pg_lrs: Lrs, http: httpx.AsyncClient) -> None:
    """A statement whose transaction is still open is not visible, so the header must stay
    before its `stored` (read from the clock inside that transaction) until it commits."""
    pg_lrs.db.through_max_age = 0.0
    await _post(http)
    async with pg_lrs.db.write() as conn:
        _, writer_now = await StatementWrites(conn).begin([str(uuid.uuid4())])
        assert writer_now is not None
        await asyncio.sleep(0.05)  # the clock moves well past the writer's `stored`
        assert await _through(http) < writer_now
        # A reading reused from while the writer ran keeps holding back after it commits.
        pg_lrs.db.through_max_age = 5.0
        held = await _through(http)
    assert held < writer_now
    assert await _through(http) == held
    pg_lrs.db.through_max_age = 0.0
    assert await _through(http) >= writer_now
