"""Every event type identity-sync publishes has a valid draft 2020-12 JSON Schema."""

from __future__ import annotations

import json

import pytest
from identity_testkit import REPO_SCHEMAS, STAGED_SCHEMAS
from jsonschema import Draft202012Validator

TYPES = [
    "identity.user.upserted",
    "identity.user.deactivated",
    "identity.group.upserted",
    "identity.group.deleted",
    "identity.actor.linked",
    "identity.actor.unlinked",
    *(
        f"compliance.{kind}"
        for kind in (
            "assigned",
            "satisfied",
            "overdue",
            "expiring",
            "expired",
            "reopened",
            "unassigned",
        )
    ),
    "entitlement.granted",
    "entitlement.revoked",
]


@pytest.mark.parametrize("event_type", TYPES)
def test_schema_exists_and_is_valid(event_type: str) -> None:
    path = REPO_SCHEMAS / f"{event_type}.json"
    if not path.exists():
        path = STAGED_SCHEMAS / f"{event_type}.json"
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["type"] == {"const": event_type}
    assert schema["properties"]["source"] == {"const": "/learnproof/identity-sync"}
    assert "data" in schema["required"]
