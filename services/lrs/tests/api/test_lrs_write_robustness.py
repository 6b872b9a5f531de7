"""Writes under concurrency and database trouble: concurrent definition merges lose nothing,
killed database connections do not poison the pool, a failed write leaves no open transaction."""

from __future__ import annotations

import asyncio
import base64
import uuid

import httpx
import pytest
import sqlalchemy as sa

from learnproof_lrs.bootstrap import Lrs
from learnproof_lrs.entrypoints.http.app import create_app

LANGUAGES = [f"x-l{i}" for i in range(16)]
BASIC = "Basic " + base64.b64encode(b"test-key:test-secret").decode()


def _meeting_statement(activity_id: str, language: str) -> dict[str, object]:
    return {
        "actor": {"mbox": "mailto:merge@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {
            "id": activity_id,
            "definition": {"name": {language: f"meeting ({language})"}},
        },
    }


@pytest.mark.parametrize("group_commit", [False, True], ids=["alone", "group-commit"])
async def test_concurrent_writers_merging_one_definition_lose_no_language(
    lrs: Lrs, client: httpx.AsyncClient, group_commit: bool
) -> None:
    """16 requests at once, each adding a language to the same activity's name: the canonical
    definition ends with all 16 (a write merges under a lock when it changes a definition)."""
    if not group_commit:
        lrs.coalescer = None  # every request its own transaction: the racy case
    activity_id = f"https://example.com/meetings/{uuid.uuid4()}"
    answers = await asyncio.gather(
        *(
            client.post("/statements", json=_meeting_statement(activity_id, language))
            for language in LANGUAGES
        )
    )
    assert [a.status_code for a in answers] == [200] * len(LANGUAGES)
    resp = await client.get("/activities", params={"activityId": activity_id})
    assert resp.status_code == 200
    assert sorted(resp.json()["definition"]["name"]) == sorted(LANGUAGES)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])  # overrides the fixture: PostgreSQL only
async def test_killed_database_connections_do_not_poison_the_pool(lrs: Lrs, backend: str) -> None:
    """Every pooled connection is killed by the server (a restart, a failover, an idle kill):
    requests answer 503 (retry) while the pool finds out, and it heals without a restart."""
    transport = httpx.ASGITransport(app=create_app(lrs=lrs), raise_app_exceptions=False)
    client = httpx.AsyncClient(
        transport=transport,
        base_url="http://lrs.test/xapi",
        headers={"Authorization": BASIC, "X-Experience-API-Version": "1.0.3"},
    )
    for _ in range(3):  # fill the pool with connections that have served requests
        await asyncio.gather(*(client.get("/statements", params={"limit": "1"}) for _ in range(8)))
    async with lrs.db.read() as conn:
        killed = await conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        assert killed.scalar_one() >= 1
    statuses = []
    for _ in range(30):
        r = await client.post("/statements", json=_meeting_statement("https://example.com/k", "en"))
        statuses.append(r.status_code)
    assert set(statuses) <= {200, 500, 503}
    assert statuses[-10:] == [200] * 10, statuses
    reads = [
        (await client.get("/statements", params={"limit": "1"})).status_code for _ in range(12)
    ]
    assert reads[-6:] == [200] * 6, reads


async def test_a_failed_write_leaves_nothing_and_no_open_transaction(lrs: Lrs) -> None:
    """An error inside a write transaction rolls it back and returns a clean connection."""
    with pytest.raises(RuntimeError, match="boom"):
        async with lrs.db.write() as conn:
            await conn.execute(
                sa.text("INSERT INTO stores (id, name, created_us) VALUES ('ghost', 'ghost', 0)")
            )
            raise RuntimeError("boom")
    for _ in range(12):  # every pooled connection
        async with lrs.db.read() as conn:
            found = await conn.execute(sa.text("SELECT count(*) FROM stores WHERE id = 'ghost'"))
            assert found.scalar_one() == 0
            if lrs.db.is_sqlite:
                continue
            raw = await conn.get_raw_connection()
            assert not raw.driver_connection.is_in_transaction()
