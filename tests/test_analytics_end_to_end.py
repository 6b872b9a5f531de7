"""Cross-service: the real LRS and identity-sync feed analytics through their outboxes.

Embedded mode end to end: the LRS writes statements and outbox rows in one transaction;
identity-sync publishes SCIM users, groups and actor links the same way; the analytics consumer
reads both outboxes (SQLite files, read-only) and its API answers with the voiding applied,
session time counted once, and figures cut by the directory's group and manager.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx

from learnproof_analytics.bootstrap import bootstrap as analytics_bootstrap
from learnproof_analytics.entrypoints.api.app import create_app as analytics_app
from learnproof_analytics.settings import AnalyticsSettings
from learnproof_identity.bootstrap import bootstrap as identity_bootstrap
from learnproof_identity.entrypoints.app import create_app as identity_app
from learnproof_identity.settings import IdentitySettings
from learnproof_lrs.bootstrap import bootstrap as lrs_bootstrap
from learnproof_lrs.entrypoints.http.app import create_app as lrs_app
from learnproof_lrs.settings import LrsSettings

AU = "https://example.org/courses/ai-act/au/1"
SESSION = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
ACTOR = {"objectType": "Agent", "mbox": "mailto:ada@example.org", "name": "Ada"}


def cmi5(verb: str, minute: int, registration: str, **result: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "actor": ACTOR,
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
        "object": {"objectType": "Activity", "id": AU},
        "context": {"registration": registration, "extensions": {SESSION: "sess-1"}},
        "timestamp": f"2026-03-02T09:{minute:02d}:00Z",
    }
    if result:
        body["result"] = result
    return body


async def test_lrs_statements_and_voiding_reach_the_analytics_api(tmp_path: Path) -> None:
    lrs_file = tmp_path / "lrs.sqlite3"
    lrs = lrs_bootstrap(
        LrsSettings(
            database_url=f"sqlite+aiosqlite:///{lrs_file}",
            bootstrap_key="k",
            bootstrap_secret="s",
            kdf_log2_n=10,
        )
    )
    await lrs.start()
    registration = str(uuid.uuid4())
    statements = [
        cmi5("initialized", 0, registration),
        cmi5("completed", 20, registration, completion=True, duration="PT20M"),
        cmi5("passed", 21, registration, success=True, score={"scaled": 0.9}, duration="PT21M"),
        cmi5("terminated", 25, registration, duration="PT25M"),
    ]
    voiding = {
        "actor": ACTOR,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": statements[2]["id"]},
        "timestamp": "2026-03-03T09:00:00Z",
    }
    basic = "Basic " + base64.b64encode(b"k:s").decode()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=lrs_app(lrs=lrs)),
        base_url="http://lrs.test/xapi",
        headers={"Authorization": basic, "X-Experience-API-Version": "1.0.3"},
    ) as xapi:
        assert (await xapi.post("/statements", json=statements)).status_code == 200
        assert (await xapi.post("/statements", json=voiding)).status_code == 200
    await lrs.stop()

    container = analytics_bootstrap(
        AnalyticsSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'analytics.sqlite3'}",
            lrs_log_url=f"sqlite+aiosqlite:///{lrs_file}",
            identity_log_url="",
            api_keys=["read"],
        )
    )
    await container.start()
    try:
        assert await container.consume_until_idle() >= 6  # 5 stored (voiding too) + 1 voided
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=analytics_app(container=container)),
            base_url="http://analytics.test",
            headers={"Authorization": "Bearer read"},
        ) as api:
            response = await api.get(
                "/v1/learners/" + quote("mbox:mailto:ada@example.org", safe="")
            )
            assert response.status_code == 200, response.text
            learner = response.json()
    finally:
        await container.close()
    assert learner["name"] == "Ada"
    assert (learner["completed"], learner["passed"], learner["best_score"]) == (1, 0, None)
    assert learner["time_spent_s"] == 25 * 60
    assert learner["statements"] == 3


async def post_statements(lrs_file: Path, bodies: list[dict[str, object]]) -> None:
    lrs = lrs_bootstrap(
        LrsSettings(
            database_url=f"sqlite+aiosqlite:///{lrs_file}",
            bootstrap_key="k",
            bootstrap_secret="s",
            kdf_log2_n=10,
        )
    )
    await lrs.start()
    basic = "Basic " + base64.b64encode(b"k:s").decode()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=lrs_app(lrs=lrs)),
        base_url="http://lrs.test/xapi",
        headers={"Authorization": basic, "X-Experience-API-Version": "1.0.3"},
    ) as xapi:
        response = await xapi.post("/statements", json=bodies)
        assert response.status_code == 200, response.text
    await lrs.stop()


async def build_directory(identity_file: Path) -> dict[str, str]:
    """Two SCIM users with managers, a group with one of them, both actors linked."""
    container = await identity_bootstrap(
        IdentitySettings(
            database_url=f"sqlite+aiosqlite:///{identity_file}",
            scim_tokens=["scim"],
            run_consumer=False,
        )
    )
    ids: dict[str, str] = {}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=identity_app(container=container)),
            base_url="http://identity.test",
            headers={"Authorization": "Bearer scim"},
        ) as idp:
            for name, manager in (("ada", "boss-1"), ("bob", "boss-2")):
                user = {
                    "schemas": [
                        "urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                    ],
                    "userName": f"{name}@example.org",
                    "active": True,
                    "emails": [{"value": f"{name}@example.org", "type": "work", "primary": True}],
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                        "manager": {"value": manager}
                    },
                }
                created = await idp.post("/scim/v2/Users", json=user)
                assert created.status_code == 201, created.text
                ids[name] = created.json()["id"]
            group = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "AI platform team",
                "members": [{"value": ids["ada"]}],
            }
            created = await idp.post("/scim/v2/Groups", json=group)
            assert created.status_code == 201, created.text
            ids["group"] = created.json()["id"]
            for name in ("ada", "bob"):
                link = {"user_id": ids[name], "actor_key": f"mbox:mailto:{name}@example.org"}
                linked = await idp.post("/api/v1/reconciliation/links", json=link)
                assert linked.status_code == 201, linked.text
    finally:
        await container.close()
    return ids


async def test_directory_from_identity_sync_cuts_lrs_figures(tmp_path: Path) -> None:
    bodies = []
    for name, completes in (("ada", True), ("bob", False)):
        registration = str(uuid.uuid4())
        actor = {"objectType": "Agent", "mbox": f"mailto:{name}@example.org"}
        for verb in ("initialized", "completed") if completes else ("initialized",):
            body = cmi5(verb, 1 if verb == "completed" else 0, registration)
            body["actor"] = actor
            bodies.append(body)
    await post_statements(tmp_path / "lrs.sqlite3", bodies)
    ids = await build_directory(tmp_path / "identity.sqlite3")

    container = analytics_bootstrap(
        AnalyticsSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'analytics.sqlite3'}",
            lrs_log_url=f"sqlite+aiosqlite:///{tmp_path / 'lrs.sqlite3'}",
            identity_log_url=f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite3'}",
            api_keys=["read"],
        )
    )
    await container.start()
    try:
        await container.consume_until_idle()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=analytics_app(container=container)),
            base_url="http://analytics.test",
            headers={"Authorization": "Bearer read"},
        ) as api:
            course = "/v1/courses/" + quote(AU, safe="")
            overall = (await api.get(course)).json()
            in_group = (await api.get(course, params={"group": ids["group"]})).json()
            by_manager = (
                await api.get("/v1/courses/breakdown", params={"activity": AU, "by": "manager"})
            ).json()
            groups = (await api.get("/v1/groups")).json()
    finally:
        await container.close()
    assert (overall["enrolments"], overall["completion_rate"]) == (2, 0.5)
    assert (in_group["enrolments"], in_group["completion_rate"]) == (1, 1.0)
    assert [(c["cut"], c["summary"]["completion_rate"]) for c in by_manager] == [
        ("boss-1", 1.0),
        ("boss-2", 0.0),
    ]
    assert groups == [
        {"id": ids["group"], "display_name": "AI platform team", "members": [ids["ada"]]}
    ]
