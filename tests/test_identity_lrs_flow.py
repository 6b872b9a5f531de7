"""Cross-service, embedded mode: a statement POSTed to the real LRS API reaches identity-sync
through the LRS outbox (read-only SQLite), satisfies a requirement and opens the gate; voiding
it through the LRS reopens the requirement."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from learnproof_identity.adapters.clock import ManualClock
from learnproof_identity.bootstrap import Container
from learnproof_identity.bootstrap import bootstrap as identity_bootstrap
from learnproof_identity.entrypoints.app import create_app as identity_app
from learnproof_identity.settings import IdentitySettings
from learnproof_lrs.bootstrap import bootstrap as lrs_bootstrap
from learnproof_lrs.entrypoints.http.app import create_app as lrs_app
from learnproof_lrs.settings import LrsSettings

ISSUER = "https://acme.okta.com"
COURSE = "https://courses.acme.test/ai-ethics"
BASIC = "Basic " + base64.b64encode(b"flow-key:flow-secret").decode()
REQUIREMENTS = {
    "requirements": [
        {
            "id": "ai-ethics",
            "activity": COURSE,
            "audience": {"groups": ["AI Engineers"]},
            "recurrence": "P1Y",
        }
    ],
    "entitlements": [{"id": "ai-prod-access", "requirements": ["ai-ethics"]}],
}


@pytest.fixture
async def services(
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, Container]]:
    lrs_url = f"sqlite+aiosqlite:///{tmp_path / 'lrs.sqlite3'}"
    lrs = lrs_bootstrap(
        LrsSettings(
            database_url=lrs_url,
            bootstrap_key="flow-key",
            bootstrap_secret="flow-secret",
            kdf_log2_n=10,
        )
    )
    await lrs.start()
    requirements = tmp_path / "requirements.json"
    requirements.write_text(json.dumps(REQUIREMENTS))
    identity = await identity_bootstrap(
        IdentitySettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite3'}",
            statements_url=lrs_url,
            requirements_file=str(requirements),
            idp_issuer=ISSUER,
            scim_tokens=["scim"],  # type: ignore[list-item]
        ),
        clock=ManualClock(datetime.now(UTC)),
    )
    lrs_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=lrs_app(lrs=lrs)),
        base_url="http://lrs.test/xapi",
        headers={"Authorization": BASIC, "X-Experience-API-Version": "1.0.3"},
    )
    identity_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=identity_app(container=identity)),
        base_url="http://identity.test",
        headers={"Authorization": "Bearer scim"},
    )
    try:
        yield lrs_http, identity_http, identity
    finally:
        await lrs_http.aclose()
        await identity_http.aclose()
        await identity.close()
        await lrs.stop()


async def _statuses(identity: Container) -> list[str]:
    table = identity.tables.outbox
    async with identity.engine.connect() as conn:
        rows = await conn.execute(sa.select(table.c.type).order_by(table.c.seq))
        return [r[0] for r in rows]


async def _decision(identity_http: httpx.AsyncClient) -> bool:
    r = await identity_http.post(
        "/access/v1/evaluation",
        json={
            "subject": {"type": "user", "id": "ada@acme.com"},
            "action": {"name": "deploy"},
            "resource": {"type": "entitlement", "id": "ai-prod-access"},
        },
    )
    assert r.status_code == 200, r.text
    return bool(r.json()["decision"])


async def test_statement_through_the_lrs_api_opens_the_gate(
    services: tuple[httpx.AsyncClient, httpx.AsyncClient, Container],
) -> None:
    lrs_http, identity_http, identity = services
    r = await identity_http.post("/scim/v2/Users", json={"userName": "ada@acme.com"})
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    r = await identity_http.post(
        "/scim/v2/Groups", json={"displayName": "AI Engineers", "members": [{"value": user_id}]}
    )
    assert r.status_code == 201, r.text
    assert await _decision(identity_http) is False

    statement_id = str(uuid.uuid4())
    statement: dict[str, Any] = {
        "id": statement_id,
        "actor": {"objectType": "Agent", "account": {"homePage": ISSUER, "name": "ada@acme.com"}},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-US": "completed"},
        },
        "object": {"objectType": "Activity", "id": COURSE},
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    r = await lrs_http.post("/statements", json=statement)
    assert r.status_code == 200, r.text

    runner = identity.consumer()
    try:
        assert await runner.run_until_idle() >= 1
    finally:
        await runner.close()
    seen = await _statuses(identity)
    assert {"compliance.satisfied", "entitlement.granted"} <= set(seen)
    assert await _decision(identity_http) is True

    voiding = {
        "actor": {"objectType": "Agent", "mbox": "mailto:admin@acme.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": statement_id},
    }
    r = await lrs_http.post("/statements", json=voiding)
    assert r.status_code == 200, r.text
    runner = identity.consumer()
    try:
        await runner.run_until_idle()
    finally:
        await runner.close()
    assert (await _statuses(identity))[len(seen) :] == ["compliance.reopened"]
    # The requirement is open again (deny on it); the grant itself lasts until due + grace.
    r = await identity_http.post(
        "/access/v1/evaluation",
        json={
            "subject": {"type": "user", "id": "ada@acme.com"},
            "action": {"name": "deploy"},
            "resource": {"type": "requirement", "id": "ai-ethics"},
        },
    )
    assert r.json()["decision"] is False and r.json()["context"]["status"] == "assigned"
