"""Helpers for identity-sync tests: constants, an outbox reader, a fake LRS outbox, statements."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from learnproof_events import outbox
from learnproof_events.consumer import OutboxLogSource
from learnproof_events.envelope import Event, decode_data, utc
from learnproof_events.schemas import validate_event
from learnproof_identity.bootstrap import Container

STAGED_SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
REPO_SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
ISSUER = "https://acme.okta.com"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SCIM = "application/scim+json"

REQUIREMENTS = {
    "requirements": [
        {
            "id": "ai-ethics",
            "title": "AI ethics under the EU AI Act",
            "activity": "https://courses.acme.test/ai-ethics",
            "audience": {"groups": ["AI Engineers"]},
            "due": {"from": "assignment", "within": "P30D"},
            "recurrence": "P1Y",
            "expiring_within": "P30D",
            "grace": "P7D",
            "lookback": "P0D",
            "move_on": "CompletedOrPassed",
        }
    ],
    "entitlements": [
        {"id": "ai-prod-access", "requirements": ["ai-ethics"], "description": "prod AI systems"}
    ],
}


@dataclass
class Outbox:
    """Reads identity-sync's own outbox: every event it published, in order."""

    container: Container
    seen: int = 0
    all: list[Event] = field(default_factory=list)

    async def new(self) -> list[Event]:
        """Events published since the last call (each one validated against its schema).

        Read by seq with a plain SELECT: everything here is committed, and the commit-safe
        horizon of outbox.read_after would wait for other sessions' transactions on a shared
        PostgreSQL cluster.
        """
        table = self.container.tables.outbox
        async with self.container.engine.connect() as conn:
            rows = (await conn.execute(sa.select(table).order_by(table.c.seq))).all()
        events = [_event(row) for row in rows][self.seen :]
        self.seen += len(events)
        for event in events:
            validate(event)
        self.all.extend(events)
        return events


def _event(row: Any) -> Event:
    return Event(
        id=row.event_id,
        type=row.type,
        source=row.source,
        topic=row.topic,
        key=row.key,
        time=utc(row.time),
        data=decode_data(row.data),
        subject=row.subject,
    )


def validate(event: Event) -> None:
    """Validate against schemas/ (entitlement schemas are staged here until they move there)."""
    staged = STAGED_SCHEMAS / f"{event.type}.json"
    folder = None if (REPO_SCHEMAS / f"{event.type}.json").exists() else str(STAGED_SCHEMAS)
    if folder is not None:
        assert staged.exists(), f"no schema for {event.type}"
    validate_event(event, folder)


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


@dataclass
class FakeLrs:
    """An LRS outbox in a SQLite file, read by the real OutboxLogSource (embedded mode)."""

    url: str
    table: sa.Table
    store: str = "default"

    async def append(self, events: list[Event]) -> None:
        engine = create_async_engine(self.url)
        async with engine.begin() as conn:
            await conn.run_sync(self.table.metadata.create_all)
            await outbox.append(conn, self.table, events)
        await engine.dispose()

    async def store_statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        statement = {"id": str(uuid.uuid4()), **statement}
        statement.setdefault("stored", statement.get("timestamp"))
        key = _actor_key(statement["actor"])
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.store}/{statement['id']}/stored"))
        await self.append(
            [
                Event(
                    id=event_id,
                    type="xapi.statement.stored",
                    source="/learnproof/lrs",
                    topic="xapi.statements.v1",
                    key=key,
                    time=datetime.fromisoformat(statement["timestamp"].replace("Z", "+00:00")),
                    data={"store": self.store, "statement": statement},
                    subject=statement["id"],
                )
            ]
        )
        return statement

    async def void(self, voided: dict[str, Any], at: datetime) -> None:
        voiding_id = str(uuid.uuid4())
        await self.append(
            [
                Event(
                    id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.store}/{voided['id']}/voided")),
                    type="xapi.statement.voided",
                    source="/learnproof/lrs",
                    topic="xapi.statements.v1",
                    key=_actor_key(voided["actor"]),
                    time=at,
                    data={
                        "store": self.store,
                        "voided_statement_id": voided["id"],
                        "voiding_statement_id": voiding_id,
                        "voided_at": at.isoformat(),
                    },
                    subject=voided["id"],
                )
            ]
        )


def _actor_key(actor: dict[str, Any]) -> str:
    from learnproof_identity.domain.actors import actor_key

    key = actor_key(actor)
    assert key is not None
    return key


async def consume(container: Container) -> int:
    """Drain the LRS outbox through the real ConsumerRunner + OutboxLogSource."""
    source = OutboxLogSource(container.settings.statements_url, ["xapi.statements.v1"])
    runner = container.consumer(source)
    try:
        return await runner.run_until_idle()
    finally:
        await runner.close()


def statement(
    actor: dict[str, Any], verb: str, activity: str, when: datetime, **extra: Any
) -> dict[str, Any]:
    verbs = {
        "completed": "http://adlnet.gov/expapi/verbs/completed",
        "passed": "http://adlnet.gov/expapi/verbs/passed",
        "failed": "http://adlnet.gov/expapi/verbs/failed",
        "satisfied": "https://w3id.org/xapi/adl/verbs/satisfied",
        "experienced": "http://adlnet.gov/expapi/verbs/experienced",
    }
    return {
        "actor": {"objectType": "Agent", **actor},
        "verb": {"id": verbs[verb]},
        "object": {"objectType": "Activity", "id": activity},
        "timestamp": when.isoformat().replace("+00:00", "Z"),
        **extra,
    }


COURSE = "https://courses.acme.test/ai-ethics"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"


async def make_user(client: httpx.AsyncClient, user_name: str, email: str | None = None) -> str:
    r = await client.post(
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "externalId": f"ext-{user_name}",
            "emails": [{"type": "work", "value": email or user_name, "primary": True}],
            "active": True,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def make_group(client: httpx.AsyncClient, name: str) -> str:
    r = await client.post(
        "/scim/v2/Groups", json={"schemas": [GROUP_URN], "displayName": name, "members": []}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def join(client: httpx.AsyncClient, group_id: str, user_id: str) -> None:
    body = {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
    }
    r = await client.patch(f"/scim/v2/Groups/{group_id}", json=body)
    assert r.status_code == 200, r.text


async def ask(
    client: httpx.AsyncClient, subject: str, as_of: datetime | None = None, **resource: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": {"type": "user", "id": subject},
        "action": {"name": "deploy"},
        "resource": resource or {"type": "entitlement", "id": "ai-prod-access"},
    }
    if as_of is not None:
        body["context"] = {"as_of": as_of.isoformat()}
    r = await client.post("/access/v1/evaluation", json=body)
    assert r.status_code == 200, r.text
    decision: dict[str, Any] = r.json()
    assert set(decision["context"]["reason_admin"]) == {"en"}
    assert decision["context"]["reason_user"]["en"]
    return decision


def account(name: str) -> dict[str, Any]:
    return {"account": {"homePage": ISSUER, "name": name}}
