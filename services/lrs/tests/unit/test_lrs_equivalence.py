"""Statement comparison rules (Data 2.3.1 Statement Immutability; 2.0 4.2.4.2 and 4.2.7)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from learnproof_lrs.domain.equivalence import signed_payload_matches, statements_equivalent
from learnproof_lrs.domain.versions import V103, V200

Statement = dict[str, Any]

BASE: Statement = {
    "id": "a9a0b6f1-53a6-4a41-9d0a-1d9a1f0d6c11",
    "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@Example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
    "object": {
        "objectType": "Activity",
        "id": "http://example.com/q1",
        "definition": {"name": {"en-US": "Question 1"}, "type": "http://example.com/question"},
    },
    "result": {"score": {"raw": 1, "min": 0, "max": 2}, "success": True, "duration": "PT1M0.12S"},
    "context": {
        "registration": "6a6e2d41-8e9a-4c5c-9a8e-2a4f6f1b7d22",
        "instructor": {"mbox": "mailto:teacher@example.com"},
        "contextActivities": {"parent": [{"id": "http://example.com/course"}]},
        "language": "en-US",
        "extensions": {"http://example.com/ext": {"list": [1, 2, 3], "flag": False}},
    },
    "timestamp": "2024-05-04T12:00:00.123Z",
}


def edit(change: Callable[[Statement], None], base: Statement = BASE) -> Statement:
    other = copy.deepcopy(base)
    change(other)
    return other


def set_path(path: str, value: Any) -> Callable[[Statement], None]:
    def change(s: Statement) -> None:
        *parents, last = path.split(".")
        node: Any = s
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def drop(path: str) -> Callable[[Statement], None]:
    def change(s: Statement) -> None:
        *parents, last = path.split(".")
        node: Any = s
        for key in parents:
            node = node[key]
        del node[last]

    return change


GROUP: Statement = edit(
    set_path(
        "actor",
        {
            "objectType": "Group",
            "member": [{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}],
        },
    )
)

# (name, a, b, version, equivalent?)
CASES: list[tuple[str, Statement, Statement, str, bool]] = [
    ("identical", BASE, copy.deepcopy(BASE), V200, True),
    # 2.3.1.b1: properties the LRS assigns
    ("stored added", BASE, edit(set_path("stored", "2024-05-05T00:00:00Z")), V200, True),
    (
        "authority differs",
        edit(set_path("authority", {"mbox": "mailto:x@example.com"})),
        edit(set_path("authority", {"mbox": "mailto:y@example.com"})),
        V200,
        True,
    ),
    ("version added", BASE, edit(set_path("version", "1.0.3")), V103, True),
    ("id absent on one side", edit(drop("id")), BASE, V200, True),
    ("ids differ", BASE, edit(set_path("id", "00000000-0000-4000-8000-000000000000")), V200, False),
    ("id case", BASE, edit(set_path("id", BASE["id"].upper())), V200, True),
    ("timestamp absent on one side", edit(drop("timestamp")), BASE, V200, True),
    # 2.3.1.b2/b3: activity definitions and verb display are not part of the statement
    (
        "activity definition differs",
        BASE,
        edit(set_path("object.definition.name", {"en-US": "Other"})),
        V200,
        True,
    ),
    ("activity definition absent", BASE, edit(drop("object.definition")), V200, True),
    (
        "context activity definition differs",
        BASE,
        edit(
            set_path(
                "context.contextActivities.parent",
                [{"id": "http://example.com/course", "definition": {"name": {"en": "C"}}}],
            )
        ),
        V200,
        True,
    ),
    ("verb display differs", BASE, edit(set_path("verb.display", {"fr": "a répondu"})), V200, True),
    (
        "verb id differs",
        BASE,
        edit(set_path("verb.id", "http://adlnet.gov/expapi/verbs/passed")),
        V200,
        False,
    ),
    ("object id differs", BASE, edit(set_path("object.id", "http://example.com/q2")), V200, False),
    # 2.3.1.b4: timestamps are instants
    (
        "timestamp in another offset",
        BASE,
        edit(set_path("timestamp", "2024-05-04T14:00:00.123+02:00")),
        V200,
        True,
    ),
    (
        "timestamp more digits, same millisecond",
        BASE,
        edit(set_path("timestamp", "2024-05-04T12:00:00.1239Z")),
        V200,
        True,
    ),
    (
        "timestamp rounded to the millisecond",
        edit(set_path("timestamp", "2024-05-04T12:00:00.1236Z")),
        edit(set_path("timestamp", "2024-05-04T12:00:00.124Z")),
        V200,
        True,
    ),
    (
        "timestamp offset without colon",
        BASE,
        edit(set_path("timestamp", "2024-05-04T07:00:00.123-0500")),
        V200,
        True,
    ),
    (
        "timestamps 2 ms apart",
        BASE,
        edit(set_path("timestamp", "2024-05-04T12:00:00.125Z")),
        V200,
        False,
    ),
    (
        "timestamps an hour apart",
        BASE,
        edit(set_path("timestamp", "2024-05-04T12:00:00.123+01:00")),
        V200,
        False,
    ),
    # 2.3.1.b5: group members are unordered
    ("member order", GROUP, edit(lambda s: s["actor"]["member"].reverse(), GROUP), V200, True),
    (
        "member set differs",
        GROUP,
        edit(set_path("actor.member", [{"mbox": "mailto:a@example.com"}]), GROUP),
        V200,
        False,
    ),
    (
        "contextActivities order matters",
        edit(
            set_path(
                "context.contextActivities.parent",
                [{"id": "http://e.com/1"}, {"id": "http://e.com/2"}],
            )
        ),
        edit(
            set_path(
                "context.contextActivities.parent",
                [{"id": "http://e.com/2"}, {"id": "http://e.com/1"}],
            )
        ),
        V200,
        False,
    ),
    (
        "extension list order matters",
        BASE,
        edit(
            set_path(
                "context.extensions", {"http://example.com/ext": {"list": [3, 2, 1], "flag": False}}
            )
        ),
        V200,
        False,
    ),
    # 2.3.1.b6: attachments
    (
        "attachments absent on one side",
        edit(
            set_path(
                "attachments",
                [
                    {
                        "usageType": "http://e.com/u",
                        "display": {"en": "a"},
                        "contentType": "text/plain",
                        "length": 1,
                        "sha2": "ab",
                    }
                ],
            )
        ),
        BASE,
        V200,
        True,
    ),
    (
        "attachments differ",
        edit(
            set_path(
                "attachments",
                [
                    {
                        "usageType": "http://e.com/u",
                        "display": {"en": "a"},
                        "contentType": "text/plain",
                        "length": 1,
                        "sha2": "ab",
                    }
                ],
            )
        ),
        edit(
            set_path(
                "attachments",
                [
                    {
                        "usageType": "http://e.com/u",
                        "display": {"en": "a"},
                        "contentType": "text/plain",
                        "length": 1,
                        "sha2": "cd",
                    }
                ],
            )
        ),
        V200,
        False,
    ),
    (
        "attachment sha2 and language tag case",
        edit(
            set_path(
                "attachments",
                [
                    {
                        "usageType": "http://e.com/u",
                        "display": {"en-US": "a"},
                        "contentType": "text/plain",
                        "length": 1,
                        "sha2": "ab",
                    }
                ],
            )
        ),
        edit(
            set_path(
                "attachments",
                [
                    {
                        "usageType": "http://e.com/u",
                        "display": {"EN-us": "a"},
                        "contentType": "text/plain",
                        "length": 1,
                        "sha2": "AB",
                    }
                ],
            )
        ),
        V200,
        True,
    ),
    # 2.3.1.b7: case-insensitive values
    ("mbox domain case", BASE, edit(set_path("actor.mbox", "mailto:ann@EXAMPLE.COM")), V200, True),
    (
        "mailto scheme case",
        BASE,
        edit(set_path("actor.mbox", "MAILTO:ann@example.com")),
        V200,
        True,
    ),
    (
        "mbox local part case",
        BASE,
        edit(set_path("actor.mbox", "mailto:Ann@example.com")),
        V200,
        False,
    ),
    (
        "mbox_sha1sum case",
        edit(set_path("actor", {"mbox_sha1sum": "ab" * 20})),
        edit(set_path("actor", {"mbox_sha1sum": "AB" * 20})),
        V200,
        True,
    ),
    (
        "registration case",
        BASE,
        edit(set_path("context.registration", BASE["context"]["registration"].upper())),
        V200,
        True,
    ),
    (
        "registration differs",
        BASE,
        edit(set_path("context.registration", "00000000-0000-4000-8000-000000000000")),
        V200,
        False,
    ),
    ("context language case", BASE, edit(set_path("context.language", "EN-us")), V200, True),
    ("agent name case", BASE, edit(set_path("actor.name", "ann")), V200, False),
    # 2.3.1.b8 / 2.0 4.2.7: durations
    (
        "2.0 duration beyond hundredths",
        BASE,
        edit(set_path("result.duration", "PT1M0.1237S")),
        V200,
        True,
    ),
    (
        "2.0 duration trailing zero",
        edit(set_path("result.duration", "PT1.10S")),
        edit(set_path("result.duration", "PT1.1S")),
        V200,
        True,
    ),
    (
        "2.0 duration hundredths differ",
        BASE,
        edit(set_path("result.duration", "PT1M0.13S")),
        V200,
        False,
    ),
    (
        "1.0.3 duration is a string",
        BASE,
        edit(set_path("result.duration", "PT1M0.1237S")),
        V103,
        False,
    ),
    (
        "duration units are not converted",
        BASE,
        edit(set_path("result.duration", "PT60.12S")),
        V200,
        False,
    ),
    # shapes the LRS normalises
    (
        "single context activity vs array",
        BASE,
        edit(set_path("context.contextActivities.parent", {"id": "http://example.com/course"})),
        V200,
        True,
    ),
    ("Activity objectType omitted", BASE, edit(drop("object.objectType")), V200, True),
    ("Agent objectType omitted", BASE, edit(drop("actor.objectType")), V200, True),
    ("Group vs Agent", edit(set_path("actor.objectType", "Group")), BASE, V200, False),
    # JSON values
    ("integer vs float", BASE, edit(set_path("result.score.raw", 1.0)), V200, True),
    (
        "number vs boolean",
        edit(set_path("result.score.raw", 1)),
        edit(set_path("result.score.raw", True)),
        V200,
        False,
    ),
    ("boolean differs", BASE, edit(set_path("result.success", False)), V200, False),
    (
        "extension value differs",
        BASE,
        edit(
            set_path(
                "context.extensions", {"http://example.com/ext": {"list": [1, 2, 3], "flag": 0}}
            )
        ),
        V200,
        False,
    ),
    ("extra property", BASE, edit(set_path("context.platform", "web")), V200, False),
    ("missing result", BASE, edit(drop("result")), V200, False),
    (
        "instructor differs",
        BASE,
        edit(set_path("context.instructor", {"mbox": "mailto:other@example.com"})),
        V200,
        False,
    ),
    # SubStatements
    (
        "substatement timestamp instant",
        edit(
            set_path(
                "object",
                {
                    "objectType": "SubStatement",
                    "actor": {"mbox": "mailto:a@b.c"},
                    "verb": {"id": "http://e.com/v"},
                    "object": {"id": "http://e.com/o"},
                    "timestamp": "2024-01-01T00:00:00Z",
                },
            )
        ),
        edit(
            set_path(
                "object",
                {
                    "objectType": "SubStatement",
                    "actor": {"mbox": "mailto:a@b.c"},
                    "verb": {"id": "http://e.com/v"},
                    "object": {"id": "http://e.com/o"},
                    "timestamp": "2024-01-01T01:00:00+01:00",
                },
            )
        ),
        V200,
        True,
    ),
    (
        "substatement timestamp only on one side",
        edit(
            set_path(
                "object",
                {
                    "objectType": "SubStatement",
                    "actor": {"mbox": "mailto:a@b.c"},
                    "verb": {"id": "http://e.com/v"},
                    "object": {"id": "http://e.com/o"},
                    "timestamp": "2024-01-01T00:00:00Z",
                },
            )
        ),
        edit(
            set_path(
                "object",
                {
                    "objectType": "SubStatement",
                    "actor": {"mbox": "mailto:a@b.c"},
                    "verb": {"id": "http://e.com/v"},
                    "object": {"id": "http://e.com/o"},
                },
            )
        ),
        V200,
        False,
    ),
    (
        "StatementRef id case",
        edit(
            set_path(
                "object",
                {"objectType": "StatementRef", "id": "6a6e2d41-8e9a-4c5c-9a8e-2a4f6f1b7d22"},
            )
        ),
        edit(
            set_path(
                "object",
                {"objectType": "StatementRef", "id": "6A6E2D41-8E9A-4C5C-9A8E-2A4F6F1B7D22"},
            )
        ),
        V200,
        True,
    ),
    (
        "contextAgents compared in order with agent rules",
        edit(
            set_path(
                "context.contextAgents",
                [
                    {
                        "objectType": "contextAgent",
                        "agent": {"mbox": "mailto:x@E.com"},
                        "relevantTypes": ["http://e.com/t"],
                    }
                ],
            )
        ),
        edit(
            set_path(
                "context.contextAgents",
                [
                    {
                        "objectType": "contextAgent",
                        "agent": {"objectType": "Agent", "mbox": "mailto:x@e.com"},
                        "relevantTypes": ["http://e.com/t"],
                    }
                ],
            )
        ),
        V200,
        True,
    ),
]


@pytest.mark.parametrize(
    ("name", "a", "b", "version", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_statement_comparison_rules(
    name: str, a: Statement, b: Statement, version: str, expected: bool
) -> None:
    assert statements_equivalent(a, b, version=version) is expected
    assert statements_equivalent(b, a, version=version) is expected  # symmetric


def test_default_version_is_2_0() -> None:
    assert statements_equivalent(BASE, edit(set_path("result.duration", "PT1M0.1299S")))


def test_non_object_statements_are_never_equivalent() -> None:
    assert not statements_equivalent(BASE, [BASE])  # type: ignore[arg-type]


def test_inputs_are_not_modified() -> None:
    a, b = copy.deepcopy(BASE), edit(drop("id"))
    statements_equivalent(a, b)
    assert a == BASE
    assert "id" not in b


# --- signed payload vs received statement -----------------------------------------------------

SIGNATURE_ATTACHMENT = {
    "usageType": "http://adlnet.gov/expapi/attachments/signature",
    "display": {"en-US": "Signed"},
    "contentType": "application/octet-stream",
    "length": 512,
    "sha2": "ab" * 32,
}
PHOTO = {
    "usageType": "http://example.com/photo",
    "display": {"en-US": "Photo"},
    "contentType": "image/jpeg",
    "length": 3,
    "sha2": "cd" * 32,
}

SIGNED_CASES: list[tuple[str, Statement, Statement, bool]] = [
    (
        "suite style: payload without attachments",
        BASE,
        edit(set_path("attachments", [SIGNATURE_ATTACHMENT])),
        True,
    ),
    (
        "payload keeps the other attachments",
        edit(set_path("attachments", [PHOTO])),
        edit(set_path("attachments", [PHOTO, SIGNATURE_ATTACHMENT])),
        True,
    ),
    (
        "payload lost an attachment",
        edit(set_path("attachments", [PHOTO])),
        edit(set_path("attachments", [SIGNATURE_ATTACHMENT])),
        True,
    ),
    (
        "payload has another attachment",
        edit(set_path("attachments", [{**PHOTO, "sha2": "ef" * 32}])),
        edit(set_path("attachments", [PHOTO, SIGNATURE_ATTACHMENT])),
        False,
    ),
    (
        "payload without id",
        edit(drop("id")),
        edit(set_path("attachments", [SIGNATURE_ATTACHMENT])),
        True,
    ),
    (
        "JWT claims in the payload",
        edit(set_path("iat", 1700000000)),
        edit(set_path("attachments", [SIGNATURE_ATTACHMENT])),
        True,
    ),
    (
        "definition tampered",
        BASE,
        edit(set_path("object.definition.name", {"en-US": "Changed"})),
        False,
    ),
    ("verb display tampered", BASE, edit(set_path("verb.display", {"en-US": "failed"})), False),
    (
        "language tag case in a definition",
        BASE,
        edit(set_path("object.definition.name", {"EN-us": "Question 1"})),
        True,
    ),
    ("actor tampered", BASE, edit(set_path("actor.mbox", "mailto:mallory@example.com")), False),
]


@pytest.mark.parametrize(
    ("name", "payload", "received", "expected"), SIGNED_CASES, ids=[c[0] for c in SIGNED_CASES]
)
def test_signed_payload_comparison(
    name: str, payload: Statement, received: Statement, expected: bool
) -> None:
    assert signed_payload_matches(payload, received) is expected


def test_signed_payload_durations_follow_the_version() -> None:
    payload = edit(set_path("result.duration", "P1DT12H36M0.12S"))
    received = edit(set_path("result.duration", "P1DT12H36M0.1237S"))
    assert signed_payload_matches(payload, received, version=V200)
    assert not signed_payload_matches(payload, received, version=V103)
