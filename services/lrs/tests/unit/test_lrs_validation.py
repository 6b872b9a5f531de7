"""xAPI statement validation by spec section (Data 2.4.x; 2.0 4.2.x), for 1.0.3 and 2.0.0.

Each case edits a known-good statement and states the exact field path the LRS must name, or
None when the edited statement is still valid. Cases about the actor, verb, result, context and
attachments are replayed inside a SubStatement too, because a SubStatement "MUST be validated
as a Statement" (Data 2.4.4.3).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from learnproof_lrs.domain.errors import BadRequest, InvalidStatement
from learnproof_lrs.domain.validation import validate_agent, validate_statement
from learnproof_lrs.domain.versions import V103, V200

Statement = dict[str, Any]
Path = tuple[str | int, ...]
DELETE = object()
BOTH = (V103, V200)

BASE: Statement = {
    "id": "3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70",
    "actor": {"objectType": "Agent", "name": "Ada Learner", "mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
    "object": {
        "objectType": "Activity",
        "id": "https://example.com/activities/lesson-1",
        "definition": {
            "name": {"en-US": "Lesson 1"},
            "type": "http://adlnet.gov/expapi/activities/lesson",
        },
    },
    "timestamp": "2026-01-02T03:04:05.678Z",
}

SUB_BASE: Statement = {
    "actor": {"mbox": "mailto:planner@example.com"},
    "verb": {"id": "http://example.com/verbs/planned", "display": {"en-US": "planned"}},
    "object": {
        "objectType": "SubStatement",
        "actor": copy.deepcopy(BASE["actor"]),
        "verb": copy.deepcopy(BASE["verb"]),
        "object": copy.deepcopy(BASE["object"]),
    },
}

AGENT_B = {"objectType": "Agent", "mbox": "mailto:bob@example.com"}
AGENT_C = {"account": {"homePage": "https://lms.example.com", "name": "carol"}}
ANON_GROUP = {"objectType": "Group", "name": "Pair", "member": [AGENT_B, AGENT_C]}
SHA256 = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"
ATTACHMENT = {
    "usageType": "http://adlnet.gov/expapi/attachments/certificate",
    "display": {"en-US": "Certificate"},
    "description": {"en-US": "Completion certificate"},
    "contentType": "application/pdf",
    "length": 12345,
    "sha2": SHA256,
    "fileUrl": "https://files.example.com/cert.pdf",
}
STATEMENT_REF = {"objectType": "StatementRef", "id": "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"}


@dataclass(frozen=True)
class Case:
    """Edits applied to BASE; `error` is the expected InvalidStatement.path (None = valid)."""

    name: str
    edits: tuple[tuple[Path, Any], ...]
    error: str | None
    versions: tuple[str, ...] = BOTH
    in_sub: bool = True  # also replay the case inside a SubStatement
    base: Statement = field(default_factory=lambda: BASE)


def case(
    name: str,
    path: Path,
    value: Any,
    error: str | None,
    *,
    versions: tuple[str, ...] = BOTH,
    in_sub: bool = True,
) -> Case:
    return Case(name, ((path, value),), error, versions, in_sub)


def cases(
    name: str,
    edits: list[tuple[Path, Any]],
    error: str | None,
    *,
    versions: tuple[str, ...] = BOTH,
    in_sub: bool = True,
) -> Case:
    return Case(name, tuple(edits), error, versions, in_sub)


def apply(base: Statement, edits: tuple[tuple[Path, Any], ...]) -> Statement:
    doc = copy.deepcopy(base)
    for path, value in edits:
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        last = path[-1]
        if value is DELETE:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)
    return doc


def as_sub(c: Case) -> Case:
    """The same case with its edits (and expected path) moved into a SubStatement."""
    edits = tuple((("object", *path), value) for path, value in c.edits)
    error = None if c.error is None else c.error.replace("statement.", "statement.object.", 1)
    return Case(f"sub:{c.name}", edits, error, c.versions, False, SUB_BASE)


def params(table: list[Case], *, replay: bool = True) -> list[Any]:
    expanded = list(table)
    if replay:
        expanded += [as_sub(c) for c in table if c.in_sub]
    return [
        pytest.param(c, version, id=f"{c.name}[{version}]")
        for c in expanded
        for version in c.versions
    ]


def check(c: Case, version: str) -> None:
    statement = apply(c.base, c.edits)
    if c.error is None:
        validate_statement(statement, version)
        return
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(statement, version)
    assert caught.value.path == c.error, caught.value.message
    assert caught.value.status == 400
    assert isinstance(caught.value, BadRequest)


# ---------------------------------------------------------------------------------------------
# Data 2.2 Formatting / 2.4 Statement properties / 2.4.1 id / 2.4.10 version
# ---------------------------------------------------------------------------------------------
STATEMENT_CASES = [
    cases("minimal statement", [(("id",), DELETE), (("timestamp",), DELETE)], None),
    case("stored may be given", ("stored",), "2026-01-02T03:04:06.000Z", None),
    case("unknown top-level property", ("extra",), 1, "statement.extra"),
    case(
        "property names are case-sensitive",
        ("Timestamp",),
        BASE["timestamp"],
        "statement.Timestamp",
    ),
    case(
        "objectType is not a statement property",
        ("objectType",),
        "Statement",
        "statement.objectType",
    ),
    case("actor missing", ("actor",), DELETE, "statement.actor"),
    case("verb missing", ("verb",), DELETE, "statement.verb"),
    case("object missing", ("object",), DELETE, "statement.object"),
    case("actor null", ("actor",), None, "statement.actor"),
    case("verb null", ("verb",), None, "statement.verb"),
    case("object null", ("object",), None, "statement.object"),
    case("result null", ("result",), None, "statement.result"),
    case("context null", ("context",), None, "statement.context"),
    case("timestamp null", ("timestamp",), None, "statement.timestamp"),
    case("attachments null", ("attachments",), None, "statement.attachments"),
    case("id lower-case UUID", ("id",), "3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70", None),
    case("id upper-case UUID", ("id",), "3C9B1F0E-7A52-4D86-9A3E-5B1D2F4C6A70", None),
    case("id version-1 UUID", ("id",), "c232ab00-9414-11ec-b3c8-9f6bdeced846", None),
    case("id not a UUID", ("id",), "not-a-uuid", "statement.id"),
    case("id too many digits", ("id",), "3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a701", "statement.id"),
    case("id non-hex digit", ("id",), "3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a7g", "statement.id"),
    case("id without hyphens", ("id",), "3c9b1f0e7a524d869a3e5b1d2f4c6a70", "statement.id"),
    case("id in braces", ("id",), "{3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70}", "statement.id"),
    case("id as URN", ("id",), "urn:uuid:3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70", "statement.id"),
    case("id numeric", ("id",), 12345, "statement.id"),
    case("id object", ("id",), {"id": "x"}, "statement.id"),
    case("id null", ("id",), None, "statement.id"),
    case("version 1.0", ("version",), "1.0", None),
    case("version 1.0.0", ("version",), "1.0.0", None),
    case("version 1.0.3", ("version",), "1.0.3", None),
    case("version 1.0.9", ("version",), "1.0.9", None),
    case("version 2.0.0 on a 2.0 request", ("version",), "2.0.0", None, versions=(V200,)),
    case("version 2.0 on a 2.0 request", ("version",), "2.0", None, versions=(V200,)),
    case(
        "version 2.0.0 on a 1.0.3 request",
        ("version",),
        "2.0.0",
        "statement.version",
        versions=(V103,),
    ),
    case("version 1.1.0", ("version",), "1.1.0", "statement.version"),
    case("version 0.9.5", ("version",), "0.9.5", "statement.version"),
    case("version 3.0", ("version",), "3.0", "statement.version"),
    case("version trailing dot", ("version",), "1.0.", "statement.version"),
    case("version text", ("version",), "latest", "statement.version"),
    case("version numeric", ("version",), 1.0, "statement.version"),
]


@pytest.mark.parametrize(("c", "version"), params(STATEMENT_CASES, replay=False))
def test_statement_properties(c: Case, version: str) -> None:
    check(c, version)


def test_statement_must_be_an_object() -> None:
    values: list[object] = [[], "statement", 1, None]
    for value in values:
        with pytest.raises(InvalidStatement) as caught:
            validate_statement(value, V103)
        assert caught.value.path == "statement"


def test_path_prefix_names_the_batch_position() -> None:
    bad = apply(BASE, ((("actor", "mbox"), "ada@example.com"),))
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(bad, V200, "statement[3]")
    assert caught.value.path == "statement[3].actor.mbox"
    assert str(caught.value).startswith("statement[3].actor.mbox: ")


def test_unknown_version_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        validate_statement(copy.deepcopy(BASE), "1.0.2")


def test_valid_statement_is_not_modified() -> None:
    statement = copy.deepcopy(SUB_BASE)
    validate_statement(statement, V200)
    assert statement == SUB_BASE


# ---------------------------------------------------------------------------------------------
# Data 2.4.2 Actor (Agents, Groups, inverse functional identifiers)
# ---------------------------------------------------------------------------------------------
A = ("actor",)
ACTOR_CASES = [
    case("agent without objectType", (*A, "objectType"), DELETE, None),
    case("agent without name", (*A, "name"), DELETE, None),
    case("agent name empty string", (*A, "name"), "", None),
    cases(
        "agent by mbox_sha1sum",
        [(A, {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"})],
        None,
    ),
    cases(
        "agent by upper-case sha1",
        [(A, {"mbox_sha1sum": "CD9B00A5611F94EAA7B1661EDAB976068E364975"})],
        None,
    ),
    cases("agent by openid", [(A, {"openid": "https://openid.example.com/ada"})], None),
    cases("agent by account", [(A, AGENT_C)], None),
    cases(
        "agent account name may be any string",
        [(A, {"account": {"homePage": "https://x.example", "name": ""}})],
        None,
    ),
    case("objectType lower-case agent", (*A, "objectType"), "agent", "statement.actor.objectType"),
    case("objectType Person", (*A, "objectType"), "Person", "statement.actor.objectType"),
    case("objectType null", (*A, "objectType"), None, "statement.actor.objectType"),
    case("objectType numeric", (*A, "objectType"), 1, "statement.actor.objectType"),
    case("actor is a string", A, "mailto:ada@example.com", "statement.actor"),
    case("actor is an array", A, [AGENT_B], "statement.actor"),
    case("name numeric", (*A, "name"), 42, "statement.actor.name"),
    case("name null", (*A, "name"), None, "statement.actor.name"),
    case("name object", (*A, "name"), {"en": "Ada"}, "statement.actor.name"),
    case("unknown agent property", (*A, "email"), "ada@example.com", "statement.actor.email"),
    case(
        "IFI keys are case-sensitive", (*A, "Mbox"), "mailto:a@example.com", "statement.actor.Mbox"
    ),
    case("member on an agent", (*A, "member"), [AGENT_B], "statement.actor.member"),
    case("agent without identifier", (*A, "mbox"), DELETE, "statement.actor"),
    case(
        "agent with mbox and openid",
        (*A, "openid"),
        "https://openid.example.com/a",
        "statement.actor",
    ),
    case("agent with mbox and account", (*A, "account"), AGENT_C["account"], "statement.actor"),
    case(
        "agent with mbox and sha1",
        (*A, "mbox_sha1sum"),
        "cd9b00a5611f94eaa7b1661edab976068e364975",
        "statement.actor",
    ),
    cases(
        "agent with openid and account",
        [(A, {"openid": "https://o.example/a", "account": AGENT_C["account"]})],
        "statement.actor",
    ),
    case("mbox without mailto", (*A, "mbox"), "ada@example.com", "statement.actor.mbox"),
    case("mbox http IRI", (*A, "mbox"), "http://example.com/ada", "statement.actor.mbox"),
    case("mbox without @", (*A, "mbox"), "mailto:ada.example.com", "statement.actor.mbox"),
    case("mbox empty address", (*A, "mbox"), "mailto:", "statement.actor.mbox"),
    case(
        "mbox with space", (*A, "mbox"), "mailto:ada lovelace@example.com", "statement.actor.mbox"
    ),
    case("mbox two @", (*A, "mbox"), "mailto:a@b@example.com", "statement.actor.mbox"),
    case("mbox numeric", (*A, "mbox"), 12345, "statement.actor.mbox"),
    case("mbox null", (*A, "mbox"), None, "statement.actor.mbox"),
    cases(
        "sha1 too short",
        [(A, {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e36497"})],
        "statement.actor.mbox_sha1sum",
    ),
    cases(
        "sha1 too long",
        [(A, {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e3649755"})],
        "statement.actor.mbox_sha1sum",
    ),
    cases(
        "sha1 not hex",
        [(A, {"mbox_sha1sum": "zd9b00a5611f94eaa7b1661edab976068e364975"})],
        "statement.actor.mbox_sha1sum",
    ),
    cases("sha1 numeric", [(A, {"mbox_sha1sum": 12345})], "statement.actor.mbox_sha1sum"),
    cases(
        "openid without scheme",
        [(A, {"openid": "openid.example.com/ada"})],
        "statement.actor.openid",
    ),
    cases(
        "openid invalid scheme",
        [(A, {"openid": "ab=c://openid.example.com"})],
        "statement.actor.openid",
    ),
    cases("openid numeric", [(A, {"openid": 7})], "statement.actor.openid"),
    cases("account not an object", [(A, {"account": "carol"})], "statement.actor.account"),
    cases(
        "account without homePage",
        [(A, {"account": {"name": "carol"}})],
        "statement.actor.account.homePage",
    ),
    cases(
        "account without name",
        [(A, {"account": {"homePage": "https://x.example"}})],
        "statement.actor.account.name",
    ),
    cases(
        "account homePage not an IRL",
        [(A, {"account": {"homePage": "lms.example.com", "name": "c"}})],
        "statement.actor.account.homePage",
    ),
    cases(
        "account name numeric",
        [(A, {"account": {"homePage": "https://x.example", "name": 7}})],
        "statement.actor.account.name",
    ),
    cases(
        "account name object",
        [(A, {"account": {"homePage": "https://x.example", "name": {"id": 1}}})],
        "statement.actor.account.name",
    ),
    cases(
        "account unknown property",
        [(A, {"account": {"homePage": "https://x.example", "name": "c", "id": 1}})],
        "statement.actor.account.id",
    ),
    cases(
        "account homePage case-sensitive",
        [(A, {"account": {"homepage": "https://x.example", "name": "c"}})],
        "statement.actor.account.homepage",
    ),
    # Groups (Data 2.4.2.2)
    cases("anonymous group", [(A, ANON_GROUP)], None),
    cases("anonymous group of one", [(A, {"objectType": "Group", "member": [AGENT_B]})], None),
    cases(
        "identified group without members",
        [(A, {"objectType": "Group", "mbox": "mailto:team@example.com"})],
        None,
    ),
    cases(
        "identified group with empty member list",
        [(A, {"objectType": "Group", "openid": "https://o.example/t", "member": []})],
        None,
    ),
    cases(
        "identified group by account with members",
        [(A, {"objectType": "Group", "account": AGENT_C["account"], "member": [AGENT_B]})],
        None,
    ),
    cases(
        "group members may omit objectType",
        [(A, {"objectType": "Group", "member": [{"mbox": "mailto:x@example.com"}]})],
        None,
    ),
    cases(
        "objectType lower-case group",
        [(A, {**ANON_GROUP, "objectType": "group"})],
        "statement.actor.objectType",
    ),
    cases(
        "group without objectType is an agent",
        [(A, {"member": [AGENT_B], "mbox": "mailto:t@example.com"})],
        "statement.actor.member",
    ),
    cases(
        "anonymous group without member",
        [(A, {"objectType": "Group", "name": "Nobody"})],
        "statement.actor.member",
    ),
    cases(
        "anonymous group with empty member",
        [(A, {"objectType": "Group", "member": []})],
        "statement.actor.member",
    ),
    cases(
        "member not an array",
        [(A, {"objectType": "Group", "member": AGENT_B})],
        "statement.actor.member",
    ),
    cases("member null", [(A, {"objectType": "Group", "member": None})], "statement.actor.member"),
    cases(
        "member entry not an object",
        [(A, {"objectType": "Group", "member": ["mailto:b@example.com"]})],
        "statement.actor.member[0]",
    ),
    cases(
        "group inside a group",
        [(A, {"objectType": "Group", "member": [AGENT_B, ANON_GROUP]})],
        "statement.actor.member[1].objectType",
    ),
    cases(
        "member objectType wrong",
        [(A, {"objectType": "Group", "member": [{**AGENT_B, "objectType": "Person"}]})],
        "statement.actor.member[0].objectType",
    ),
    cases(
        "member without identifier",
        [(A, {"objectType": "Group", "member": [{"name": "Nameless"}]})],
        "statement.actor.member[0]",
    ),
    cases(
        "member with two identifiers",
        [(A, {"objectType": "Group", "member": [{**AGENT_B, "openid": "https://o.example/b"}]})],
        "statement.actor.member[0]",
    ),
    cases(
        "member with bad mbox",
        [(A, {"objectType": "Group", "member": [AGENT_B, {"mbox": "bob@example.com"}]})],
        "statement.actor.member[1].mbox",
    ),
    cases(
        "group with two identifiers",
        [
            (
                A,
                {
                    "objectType": "Group",
                    "mbox": "mailto:t@example.com",
                    "openid": "https://o.example/t",
                },
            )
        ],
        "statement.actor",
    ),
    cases(
        "group with bad identifier",
        [(A, {"objectType": "Group", "mbox_sha1sum": "abc", "member": [AGENT_B]})],
        "statement.actor.mbox_sha1sum",
    ),
    cases("group name numeric", [(A, {**ANON_GROUP, "name": 3})], "statement.actor.name"),
    cases(
        "group unknown property",
        [(A, {**ANON_GROUP, "members": [AGENT_B]})],
        "statement.actor.members",
    ),
]


@pytest.mark.parametrize(("c", "version"), params(ACTOR_CASES))
def test_actor(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# Data 2.4.3 Verb
# ---------------------------------------------------------------------------------------------
V = ("verb",)
VERB_CASES = [
    case("verb without display", (*V, "display"), DELETE, None),
    case(
        "display with several languages",
        (*V, "display"),
        {"en-GB": "completed", "de": "abgeschlossen", "zh-Hant": "完成"},
        None,
    ),
    case("display empty map", (*V, "display"), {}, None),
    case("verb id URN", (*V, "id"), "urn:example:verbs:done", None),
    case(
        "verb id without scheme",
        (*V, "id"),
        "adlnet.gov/expapi/verbs/completed",
        "statement.verb.id",
    ),
    case("verb id bad scheme", (*V, "id"), "ab=c://should.fail.com", "statement.verb.id"),
    case("verb id with space", (*V, "id"), "http://example.com/my verb", "statement.verb.id"),
    case("verb id numeric", (*V, "id"), 1, "statement.verb.id"),
    case("verb id null", (*V, "id"), None, "statement.verb.id"),
    case("verb id missing", (*V, "id"), DELETE, "statement.verb.id"),
    case("verb is a string", V, "http://adlnet.gov/expapi/verbs/completed", "statement.verb"),
    case("verb unknown property", (*V, "name"), {"en-US": "done"}, "statement.verb.name"),
    case("display is a string", (*V, "display"), "completed", "statement.verb.display"),
    case("display is numeric", (*V, "display"), 12345, "statement.verb.display"),
    case("display is an array", (*V, "display"), ["completed"], "statement.verb.display"),
    case(
        "display invalid language tag",
        (*V, "display"),
        {"a12345678": "x"},
        "statement.verb.display.a12345678",
    ),
    case("display underscore tag", (*V, "display"), {"en_US": "x"}, "statement.verb.display.en_US"),
    case("display empty tag", (*V, "display"), {"": "x"}, 'statement.verb.display[""]'),
    case("display value numeric", (*V, "display"), {"en-US": 1}, 'statement.verb.display["en-US"]'),
    case("display value null", (*V, "display"), {"en-US": None}, 'statement.verb.display["en-US"]'),
]


@pytest.mark.parametrize(("c", "version"), params(VERB_CASES))
def test_verb(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# Data 2.4.4 Object: Activities, definitions, interaction activities
# ---------------------------------------------------------------------------------------------
OB = ("object",)
D = ("object", "definition")


def interaction(kind: object, **lists: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "interactionType": kind,
        "correctResponsesPattern": ["a"],
    }
    definition.update(lists)
    return definition


COMPONENTS = [{"id": "a", "description": {"en-US": "A"}}, {"id": "b"}]
OBJECT_CASES = [
    case("activity without objectType", (*OB, "objectType"), DELETE, None),
    case("activity without definition", (*OB, "definition"), DELETE, None),
    case("definition may be empty", D, {}, None),
    case("moreInfo IRL", (*D, "moreInfo"), "https://example.com/info", None),
    case(
        "description language map",
        (*D, "description"),
        {"en-US": "About", "fr-CA": "À propos"},
        None,
    ),
    case(
        "extensions with any values",
        (*D, "extensions"),
        {
            "http://example.com/e1": None,
            "http://example.com/e2": "",
            "http://example.com/e3": {},
            "urn:x:4": [1, {"a": True}],
        },
        None,
    ),
    case("extensions empty", (*D, "extensions"), {}, None),
    case(
        "activity id relative path segments", (*OB, "id"), "http://example.com/path/../lesson", None
    ),
    case("activity id with unicode", (*OB, "id"), "https://例え.テスト/レッスン", None),
    case(
        "objectType lower-case activity",
        (*OB, "objectType"),
        "activity",
        "statement.object.objectType",
    ),
    case("objectType unknown", (*OB, "objectType"), "Thing", "statement.object.objectType"),
    case("objectType null", (*OB, "objectType"), None, "statement.object.objectType"),
    case("activity id missing", (*OB, "id"), DELETE, "statement.object.id"),
    case(
        "activity id without scheme", (*OB, "id"), "example.com/activities/1", "statement.object.id"
    ),
    case("activity id numeric", (*OB, "id"), 34534, "statement.object.id"),
    case(
        "activity id with bad escape", (*OB, "id"), "http://example.com/%zz", "statement.object.id"
    ),
    case("activity unknown property", (*OB, "name"), {"en-US": "Lesson"}, "statement.object.name"),
    case("definition not an object", D, "Lesson 1", "statement.object.definition"),
    case(
        "definition unknown property",
        (*D, "title"),
        {"en-US": "x"},
        "statement.object.definition.title",
    ),
    case("definition name string", (*D, "name"), "Lesson 1", "statement.object.definition.name"),
    case("definition name numeric", (*D, "name"), 1, "statement.object.definition.name"),
    case(
        "definition name bad tag",
        (*D, "name"),
        {"english": "x", "en-US-": "y"},
        'statement.object.definition.name["en-US-"]',
    ),
    case(
        "definition description bad tag",
        (*D, "description"),
        {"e": "x"},
        "statement.object.definition.description.e",
    ),
    case("definition type not IRI", (*D, "type"), "lesson", "statement.object.definition.type"),
    case("definition type null", (*D, "type"), None, "statement.object.definition.type"),
    case(
        "moreInfo not IRL",
        (*D, "moreInfo"),
        "example.com/info",
        "statement.object.definition.moreInfo",
    ),
    case("moreInfo null", (*D, "moreInfo"), None, "statement.object.definition.moreInfo"),
    case(
        "extensions not an object",
        (*D, "extensions"),
        ["http://example.com/e"],
        "statement.object.definition.extensions",
    ),
    case(
        "extension key not IRI",
        (*D, "extensions"),
        {"not an iri": 1},
        'statement.object.definition.extensions["not an iri"]',
    ),
    case(
        "extension key without scheme",
        (*D, "extensions"),
        {"example.com/ext": 1},
        'statement.object.definition.extensions["example.com/ext"]',
    ),
    # Interaction activities (Data 2.4.4.1, interaction types and components)
    case("true-false", D, interaction("true-false", correctResponsesPattern=["true"]), None),
    case("choice with choices", D, interaction("choice", choices=COMPONENTS), None),
    case("fill-in", D, interaction("fill-in"), None),
    case("long-fill-in", D, interaction("long-fill-in"), None),
    case(
        "matching with source and target",
        D,
        interaction("matching", source=COMPONENTS, target=COMPONENTS),
        None,
    ),
    case("performance with steps", D, interaction("performance", steps=COMPONENTS), None),
    case("sequencing with choices", D, interaction("sequencing", choices=COMPONENTS), None),
    case("likert with scale", D, interaction("likert", scale=COMPONENTS), None),
    case("numeric", D, interaction("numeric", correctResponsesPattern=["4[:]"]), None),
    case("other", D, interaction("other"), None),
    case("interactionType without pattern", D, {"interactionType": "choice"}, None),
    case(
        "empty correctResponsesPattern", D, interaction("choice", correctResponsesPattern=[]), None
    ),
    case("empty component list", D, interaction("choice", choices=[]), None),
    case(
        "same id in different lists",
        D,
        interaction("matching", source=[{"id": "x"}], target=[{"id": "x"}]),
        None,
    ),
    case(
        "interactionType wrong case",
        D,
        interaction("Choice"),
        "statement.object.definition.interactionType",
    ),
    case(
        "interactionType unknown",
        D,
        interaction("essay"),
        "statement.object.definition.interactionType",
    ),
    case(
        "interactionType numeric", D, interaction(1), "statement.object.definition.interactionType"
    ),
    case(
        "pattern without interactionType",
        D,
        {"correctResponsesPattern": ["a"]},
        "statement.object.definition.interactionType",
    ),
    case(
        "choices without interactionType",
        D,
        {"choices": COMPONENTS},
        "statement.object.definition.interactionType",
    ),
    case(
        "steps without interactionType",
        D,
        {"steps": COMPONENTS},
        "statement.object.definition.interactionType",
    ),
    case(
        "pattern not an array",
        D,
        interaction("choice", correctResponsesPattern="a"),
        "statement.object.definition.correctResponsesPattern",
    ),
    case(
        "pattern entry numeric",
        D,
        interaction("numeric", correctResponsesPattern=["1", 2]),
        "statement.object.definition.correctResponsesPattern[1]",
    ),
    case(
        "choices with true-false",
        D,
        interaction("true-false", choices=COMPONENTS),
        "statement.object.definition.choices",
    ),
    case(
        "scale with choice",
        D,
        interaction("choice", scale=COMPONENTS),
        "statement.object.definition.scale",
    ),
    case(
        "steps with matching",
        D,
        interaction("matching", steps=COMPONENTS),
        "statement.object.definition.steps",
    ),
    case(
        "source with likert",
        D,
        interaction("likert", source=COMPONENTS),
        "statement.object.definition.source",
    ),
    case(
        "choices not an array",
        D,
        interaction("choice", choices={"id": "a"}),
        "statement.object.definition.choices",
    ),
    case(
        "component not an object",
        D,
        interaction("choice", choices=["a"]),
        "statement.object.definition.choices[0]",
    ),
    case(
        "component without id",
        D,
        interaction("choice", choices=[{"description": {"en-US": "A"}}]),
        "statement.object.definition.choices[0].id",
    ),
    case(
        "component id numeric",
        D,
        interaction("likert", scale=[{"id": 1}]),
        "statement.object.definition.scale[0].id",
    ),
    case(
        "component ids repeat",
        D,
        interaction("sequencing", choices=[{"id": "a"}, {"id": "b"}, {"id": "a"}]),
        "statement.object.definition.choices[2].id",
    ),
    case(
        "component unknown property",
        D,
        interaction("performance", steps=[{"id": "a", "name": "A"}]),
        "statement.object.definition.steps[0].name",
    ),
    case(
        "component description bad tag",
        D,
        interaction("matching", target=[{"id": "a", "description": {"xx_YY": "A"}}]),
        "statement.object.definition.target[0].description.xx_YY",
    ),
    case(
        "component description string",
        D,
        interaction("matching", source=[{"id": "a", "description": "A"}]),
        "statement.object.definition.source[0].description",
    ),
    # Agents and Groups as objects (Data 2.4.4.2)
    case("agent as object", OB, AGENT_B, None),
    case("group as object", OB, ANON_GROUP, None),
    case(
        "agent object without objectType",
        OB,
        {"mbox": "mailto:bob@example.com"},
        "statement.object.objectType",
    ),
    case("group object without member", OB, {"objectType": "Group"}, "statement.object.member"),
    case(
        "agent object lower-case type",
        OB,
        {**AGENT_B, "objectType": "agent"},
        "statement.object.objectType",
    ),
    case(
        "agent object with id",
        OB,
        {**AGENT_B, "id": "http://example.com/bob"},
        "statement.object.id",
    ),
    # Statement references (Data 2.4.4.3)
    case("statement reference", OB, STATEMENT_REF, None),
    case(
        "statement reference without id", OB, {"objectType": "StatementRef"}, "statement.object.id"
    ),
    case(
        "statement reference bad id",
        OB,
        {**STATEMENT_REF, "id": "should fail"},
        "statement.object.id",
    ),
    case("statement reference numeric id", OB, {**STATEMENT_REF, "id": 7}, "statement.object.id"),
    case(
        "statement reference lower-case",
        OB,
        {**STATEMENT_REF, "objectType": "statementref"},
        "statement.object.objectType",
    ),
    case(
        "statement reference extra property",
        OB,
        {**STATEMENT_REF, "definition": {}},
        "statement.object.definition",
    ),
]


@pytest.mark.parametrize(("c", "version"), params(OBJECT_CASES))
def test_object(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# Data 2.4.4.3 SubStatements (their own restrictions)
# ---------------------------------------------------------------------------------------------
S = ("object",)
SUBSTATEMENT_CASES = [
    Case(
        "full sub-statement",
        (
            ((*S, "result"), {"success": True}),
            ((*S, "context"), {"platform": "web"}),
            ((*S, "timestamp"), "2026-05-01T10:00:00Z"),
            ((*S, "attachments"), [ATTACHMENT]),
        ),
        None,
        base=SUB_BASE,
    ),
    Case("sub-statement about an agent", (((*S, "object"), AGENT_B),), None, base=SUB_BASE),
    Case(
        "sub-statement with a statement reference",
        (((*S, "object"), STATEMENT_REF),),
        None,
        base=SUB_BASE,
    ),
    Case(
        "voided verb inside a sub-statement",
        (((*S, "verb", "id"), "http://adlnet.gov/expapi/verbs/voided"),),
        None,
        base=SUB_BASE,
    ),
    Case(
        "sub-statement id",
        (((*S, "id"), "3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70"),),
        "statement.object.id",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement stored",
        (((*S, "stored"), "2026-01-02T03:04:05Z"),),
        "statement.object.stored",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement version",
        (((*S, "version"), "1.0.3"),),
        "statement.object.version",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement authority",
        (((*S, "authority"), AGENT_B),),
        "statement.object.authority",
        base=SUB_BASE,
    ),
    Case(
        "nested sub-statement",
        (((*S, "object"), copy.deepcopy(SUB_BASE["object"])),),
        "statement.object.object.objectType",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement without actor",
        (((*S, "actor"), DELETE),),
        "statement.object.actor",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement without verb",
        (((*S, "verb"), DELETE),),
        "statement.object.verb",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement without object",
        (((*S, "object"), DELETE),),
        "statement.object.object",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement unknown property",
        (((*S, "extra"), 1),),
        "statement.object.extra",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement lower-case type",
        (((*S, "objectType"), "substatement"),),
        "statement.object.objectType",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement bad timestamp",
        (((*S, "timestamp"), "yesterday"),),
        "statement.object.timestamp",
        base=SUB_BASE,
    ),
    Case(
        "sub-statement object is an activity without id",
        (((*S, "object", "id"), DELETE),),
        "statement.object.object.id",
        base=SUB_BASE,
    ),
]


@pytest.mark.parametrize(("c", "version"), params(SUBSTATEMENT_CASES, replay=False))
def test_substatement(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# Data 2.4.5 Result (score, success, completion, response, duration, extensions)
# ---------------------------------------------------------------------------------------------
R = ("result",)
SC = ("result", "score")
RESULT_CASES = [
    case("empty result", R, {}, None),
    case(
        "full result",
        R,
        {
            "score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100},
            "success": True,
            "completion": False,
            "response": "",
            "duration": "PT1H0M0.1S",
            "extensions": {"http://example.com/r": [1]},
        },
        None,
    ),
    case("empty score", R, {"score": {}}, None),
    case("scaled -1", R, {"score": {"scaled": -1}}, None),
    case("scaled 1", R, {"score": {"scaled": 1}}, None),
    case("scaled 1.0", R, {"score": {"scaled": 1.0}}, None),
    case("scaled decimal", R, {"score": {"scaled": 0.6767676}}, None),
    case("raw only", R, {"score": {"raw": -17.5}}, None),
    case("raw equals min", R, {"score": {"raw": 0, "min": 0, "max": 10}}, None),
    case("raw equals max", R, {"score": {"raw": 10, "min": 0, "max": 10}}, None),
    case("min only", R, {"score": {"min": 5, "raw": 7}}, None),
    case("max only", R, {"score": {"max": 5, "raw": -7}}, None),
    case("decimal bounds", R, {"score": {"raw": 0.5, "min": 0.25, "max": 0.75}}, None),
    case("result not an object", R, "passed", "statement.result"),
    case("result unknown property", R, {"passed": True}, "statement.result.passed"),
    case("score not an object", R, {"score": 95}, "statement.result.score"),
    case("score unknown property", R, {"score": {"percent": 95}}, "statement.result.score.percent"),
    case("scaled above 1", R, {"score": {"scaled": 1.01}}, "statement.result.score.scaled"),
    case("scaled below -1", R, {"score": {"scaled": -1.00001}}, "statement.result.score.scaled"),
    case("scaled as string", R, {"score": {"scaled": "0.5"}}, "statement.result.score.scaled"),
    case("scaled as boolean", R, {"score": {"scaled": True}}, "statement.result.score.scaled"),
    case("scaled null", R, {"score": {"scaled": None}}, "statement.result.score.scaled"),
    case("raw as string", R, {"score": {"raw": "95"}}, "statement.result.score.raw"),
    case("min as string", R, {"score": {"min": "0"}}, "statement.result.score.min"),
    case("max as boolean", R, {"score": {"max": False}}, "statement.result.score.max"),
    case(
        "raw above max",
        R,
        {"score": {"raw": 0.6767676, "min": 0, "max": 0.6567676}},
        "statement.result.score.raw",
    ),
    case(
        "raw below min",
        R,
        {"score": {"raw": 0.6767676, "min": 1.4067676, "max": 100}},
        "statement.result.score.raw",
    ),
    case(
        "raw below min without max",
        R,
        {"score": {"raw": 1, "min": 2}},
        "statement.result.score.raw",
    ),
    case(
        "raw above max without min",
        R,
        {"score": {"raw": 3, "max": 2}},
        "statement.result.score.raw",
    ),
    case("min above max", R, {"score": {"min": 104.6, "max": 100.6}}, "statement.result.score.min"),
    case("min equals max", R, {"score": {"min": 5, "max": 5}}, "statement.result.score.min"),
    case("success as string", R, {"success": "true"}, "statement.result.success"),
    case("success as number", R, {"success": 1}, "statement.result.success"),
    case("success null", R, {"success": None}, "statement.result.success"),
    case("completion as string", R, {"completion": "false"}, "statement.result.completion"),
    case("response numeric", R, {"response": 42}, "statement.result.response"),
    case("response object", R, {"response": {"a": 1}}, "statement.result.response"),
    case("duration numeric", R, {"duration": 3600}, "statement.result.duration"),
    case("duration free text", R, {"duration": "1 hour"}, "statement.result.duration"),
    case("duration bad designator", R, {"duration": "PA1H0M0S"}, "statement.result.duration"),
    case("duration weeks and days", R, {"duration": "P4W1D"}, "statement.result.duration"),
    case(
        "duration alternative format",
        R,
        {"duration": "P0003-06-04T12:30:05"},
        "statement.result.duration",
    ),
    case("duration object", R, {"duration": {"hours": 1}}, "statement.result.duration"),
    case("extensions not an object", R, {"extensions": "x"}, "statement.result.extensions"),
    case(
        "extension key not IRI",
        R,
        {"extensions": {"minutes": 3}},
        "statement.result.extensions.minutes",
    ),
]


@pytest.mark.parametrize(("c", "version"), params(RESULT_CASES))
def test_result(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# Data 2.4.6 Context
# ---------------------------------------------------------------------------------------------
C = ("context",)
CA = ("context", "contextActivities")
PARENT = {"id": "https://example.com/courses/safety"}
CONTEXT_CASES = [
    case("empty context", C, {}, None),
    case("registration", C, {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}, None),
    case("instructor agent", C, {"instructor": AGENT_B}, None),
    case("instructor group", C, {"instructor": ANON_GROUP}, None),
    case("team group", C, {"team": ANON_GROUP}, None),
    case(
        "team identified group",
        C,
        {"team": {"objectType": "Group", "mbox": "mailto:t@example.com"}},
        None,
    ),
    case("single context activity", C, {"contextActivities": {"parent": PARENT}}, None),
    case(
        "context activity lists",
        C,
        {
            "contextActivities": {
                "parent": [PARENT],
                "grouping": [PARENT, {"id": "urn:x:g", "objectType": "Activity"}],
                "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}],
                "other": [],
            }
        },
        None,
    ),
    case(
        "context activity with definition",
        C,
        {"contextActivities": {"other": {"id": "urn:x:o", "definition": {"name": {"en": "O"}}}}},
        None,
    ),
    case(
        "revision and platform for an activity",
        C,
        {"revision": "v2", "platform": "Example LMS"},
        None,
    ),
    case("language tag", C, {"language": "zh-Hant-TW"}, None),
    case("statement reference", C, {"statement": STATEMENT_REF}, None),
    case(
        "extensions",
        C,
        {
            "extensions": {
                "https://w3id.org/xapi/cmi5/context/extensions/sessionid": "s1",
                "http://example.com/null": None,
            }
        },
        None,
    ),
    case("context not an object", C, "ctx", "statement.context"),
    case("context unknown property", C, {"session": "s1"}, "statement.context.session"),
    case(
        "registration not a UUID",
        C,
        {"registration": "registration-1"},
        "statement.context.registration",
    ),
    case("registration numeric", C, {"registration": 12345}, "statement.context.registration"),
    case("registration null", C, {"registration": None}, "statement.context.registration"),
    case("instructor string", C, {"instructor": "Ms Smith"}, "statement.context.instructor"),
    case(
        "instructor without identifier",
        C,
        {"instructor": {"name": "Ms Smith"}},
        "statement.context.instructor",
    ),
    case(
        "instructor bad mbox",
        C,
        {"instructor": {"mbox": "smith@example.com"}},
        "statement.context.instructor.mbox",
    ),
    case("team agent", C, {"team": AGENT_B}, "statement.context.team.objectType"),
    case(
        "team without objectType",
        C,
        {"team": {"member": [AGENT_B]}},
        "statement.context.team.objectType",
    ),
    case(
        "team anonymous without member",
        C,
        {"team": {"objectType": "Group"}},
        "statement.context.team.member",
    ),
    case("team string", C, {"team": "Blue"}, "statement.context.team"),
    case(
        "contextActivities not an object",
        C,
        {"contextActivities": [PARENT]},
        "statement.context.contextActivities",
    ),
    case(
        "contextActivities unknown key",
        C,
        {"contextActivities": {"parents": [PARENT]}},
        "statement.context.contextActivities.parents",
    ),
    case(
        "contextActivities key case",
        C,
        {"contextActivities": {"Parent": [PARENT]}},
        "statement.context.contextActivities.Parent",
    ),
    case(
        "context activity string",
        C,
        {"contextActivities": {"parent": "https://example.com/c"}},
        "statement.context.contextActivities.parent",
    ),
    case(
        "context activity null",
        C,
        {"contextActivities": {"grouping": None}},
        "statement.context.contextActivities.grouping",
    ),
    case(
        "context activity without id",
        C,
        {"contextActivities": {"category": [{"objectType": "Activity"}]}},
        "statement.context.contextActivities.category[0].id",
    ),
    case(
        "context activity bad id",
        C,
        {"contextActivities": {"other": [PARENT, {"id": "no scheme"}]}},
        "statement.context.contextActivities.other[1].id",
    ),
    case(
        "context activity is an agent",
        C,
        {"contextActivities": {"other": [{**AGENT_B, "id": "urn:x"}]}},
        "statement.context.contextActivities.other[0].mbox",
    ),
    case(
        "context activity objectType Agent",
        C,
        {"contextActivities": {"other": {"objectType": "Agent", "id": "urn:x"}}},
        "statement.context.contextActivities.other.objectType",
    ),
    case(
        "context activity entry not an object",
        C,
        {"contextActivities": {"parent": ["https://example.com/c"]}},
        "statement.context.contextActivities.parent[0]",
    ),
    case("revision numeric", C, {"revision": 2}, "statement.context.revision"),
    case("platform object", C, {"platform": {"name": "LMS"}}, "statement.context.platform"),
    case("language invalid tag", C, {"language": "english_US"}, "statement.context.language"),
    case("language numeric", C, {"language": 1}, "statement.context.language"),
    case(
        "language map instead of tag", C, {"language": {"en-US": "x"}}, "statement.context.language"
    ),
    case(
        "statement not a StatementRef",
        C,
        {"statement": {"id": STATEMENT_REF["id"]}},
        "statement.context.statement.objectType",
    ),
    case(
        "statement bad id",
        C,
        {"statement": {**STATEMENT_REF, "id": "x"}},
        "statement.context.statement.id",
    ),
    case("statement string", C, {"statement": STATEMENT_REF["id"]}, "statement.context.statement"),
    case(
        "extension key not IRI",
        C,
        {"extensions": {"example.com/extension/wrong": 1}},
        'statement.context.extensions["example.com/extension/wrong"]',
    ),
    case(
        "contextAgents is 2.0 only",
        C,
        {"contextAgents": []},
        "statement.context.contextAgents",
        versions=(V103,),
    ),
    case(
        "contextGroups is 2.0 only",
        C,
        {"contextGroups": []},
        "statement.context.contextGroups",
        versions=(V103,),
    ),
]
# revision/platform depend on the object type; these are not replayed (the sub-statement's own
# object decides there, see test_context_revision_platform_in_substatement).
OBJECT_KIND_CASES = [
    cases(
        "revision with an agent object",
        [(C, {"revision": "r1"}), (OB, AGENT_B)],
        "statement.context.revision",
        in_sub=False,
    ),
    cases(
        "platform with a group object",
        [(C, {"platform": "p"}), (OB, ANON_GROUP)],
        "statement.context.platform",
        in_sub=False,
    ),
    cases(
        "revision with a statement reference",
        [(C, {"revision": "r1"}), (OB, STATEMENT_REF)],
        "statement.context.revision",
        in_sub=False,
    ),
    cases(
        "platform with a sub-statement",
        [(C, {"platform": "p"}), (OB, copy.deepcopy(SUB_BASE["object"]))],
        "statement.context.platform",
        in_sub=False,
    ),
    cases(
        "platform with an activity without objectType",
        [(C, {"platform": "p"}), ((*OB, "objectType"), DELETE)],
        None,
        in_sub=False,
    ),
    cases(
        "team and instructor with any object",
        [(C, {"team": ANON_GROUP, "instructor": AGENT_C}), (OB, STATEMENT_REF)],
        None,
        in_sub=False,
    ),
]


@pytest.mark.parametrize(("c", "version"), params(CONTEXT_CASES + OBJECT_KIND_CASES))
def test_context(c: Case, version: str) -> None:
    check(c, version)


@pytest.mark.parametrize("version", BOTH)
def test_context_revision_platform_in_substatement(version: str) -> None:
    ok = apply(SUB_BASE, ((("object", "context"), {"revision": "r", "platform": "p"}),))
    validate_statement(ok, version)
    bad = apply(ok, ((("object", "object"), AGENT_B),))
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(bad, version)
    assert caught.value.path == "statement.object.context.revision"
    # The outer statement's object is the SubStatement: no revision/platform there.
    outer = apply(SUB_BASE, ((("context",), {"platform": "p"}),))
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(outer, version)
    assert caught.value.path == "statement.context.platform"


# ---------------------------------------------------------------------------------------------
# Data 2.4.7 Timestamp / 2.4.8 Stored (statement level; formats in test_lrs_validation_formats)
# ---------------------------------------------------------------------------------------------
T = ("timestamp",)
TIMESTAMP_CASES = [
    case("UTC with milliseconds", T, "2013-05-18T05:32:34.804Z", None),
    case("positive offset", T, "2013-05-18T05:32:34.804+02:00", None),
    case("negative offset", T, "2023-05-04T12:00:00-05:00", None),
    case("zero offset", T, "2008-09-15T15:53:00.601+00:00", None),
    case("far future", T, "2999-12-31T23:59:59Z", None),
    case("no zone (ISO 8601 only)", T, "2013-05-18T05:32:34", None, versions=(V103,)),
    case("basic format (ISO 8601 only)", T, "20130518T053234Z", None, versions=(V103,)),
    case("no seconds (ISO 8601 only)", T, "2013-05-18T05:32Z", None, versions=(V103,)),
    case(
        "no zone (RFC 3339 needs one)",
        T,
        "2013-05-18T05:32:34",
        "statement.timestamp",
        versions=(V200,),
    ),
    case(
        "basic format (not RFC 3339)",
        T,
        "20130518T053234Z",
        "statement.timestamp",
        versions=(V200,),
    ),
    case(
        "no seconds (not RFC 3339)", T, "2013-05-18T05:32Z", "statement.timestamp", versions=(V200,)
    ),
    case("free text", T, "should fail", "statement.timestamp"),
    case("US date", T, "01/011/2015", "statement.timestamp"),
    case("date only", T, "2013-05-18", "statement.timestamp"),
    case("offset -00", T, "2008-09-15T15:53:00.601-00", "statement.timestamp"),
    case("offset -0000", T, "2008-09-15T15:53:00.601-0000", "statement.timestamp"),
    case("offset -00:00", T, "2008-09-15T15:53:00.601-00:00", "statement.timestamp"),
    case("month 13", T, "2013-13-18T05:32:34Z", "statement.timestamp"),
    case("February 30", T, "2013-02-30T05:32:34Z", "statement.timestamp"),
    case("hour 25", T, "2013-05-18T25:32:34Z", "statement.timestamp"),
    case("numeric", T, 1368855154, "statement.timestamp"),
    case("stored invalid", ("stored",), "later", "statement.stored", in_sub=False),
    case("stored numeric", ("stored",), 0, "statement.stored", in_sub=False),
]


@pytest.mark.parametrize(("c", "version"), params(TIMESTAMP_CASES))
def test_timestamp(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# Data 2.4.9 Authority
# ---------------------------------------------------------------------------------------------
AU = ("authority",)
AUTHORITY_CASES = [
    case("agent authority", AU, AGENT_B, None),
    case("account authority", AU, AGENT_C, None),
    case(
        "OAuth pair",
        AU,
        {
            "objectType": "Group",
            "member": [
                {"account": {"homePage": "https://lrs.example.com/oauth", "name": "app-1"}},
                AGENT_B,
            ],
        },
        None,
    ),
    case(
        "identified group",
        AU,
        {"objectType": "Group", "mbox": "mailto:t@example.com", "member": [AGENT_B, AGENT_C]},
        "statement.authority",
    ),
    case(
        "group of one",
        AU,
        {"objectType": "Group", "member": [AGENT_B]},
        "statement.authority.member",
    ),
    case(
        "group of three",
        AU,
        {"objectType": "Group", "member": [AGENT_B, AGENT_C, {"mbox": "mailto:d@example.com"}]},
        "statement.authority.member",
    ),
    case(
        "anonymous group without member",
        AU,
        {"objectType": "Group", "name": "Anon"},
        "statement.authority.member",
    ),
    case(
        "agent without identifier",
        AU,
        {"objectType": "Agent", "name": "LRS"},
        "statement.authority",
    ),
    case(
        "authority lower-case type",
        AU,
        {**AGENT_B, "objectType": "agent"},
        "statement.authority.objectType",
    ),
    case("authority string", AU, "admin", "statement.authority"),
]


@pytest.mark.parametrize(("c", "version"), params(AUTHORITY_CASES, replay=False))
def test_authority(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# Data 2.4.11 Attachments
# ---------------------------------------------------------------------------------------------
AT = ("attachments",)


def attachment(**changes: Any) -> dict[str, Any]:
    item = dict(ATTACHMENT)
    for key, value in changes.items():
        if value is DELETE:
            item.pop(key)
        else:
            item[key] = value
    return item


ATTACHMENT_CASES = [
    case("full attachment", AT, [ATTACHMENT], None),
    case("no attachments", AT, [], None),
    case(
        "without description and fileUrl",
        AT,
        [attachment(description=DELETE, fileUrl=DELETE)],
        None,
    ),
    case(
        "signature attachment",
        AT,
        [
            attachment(
                usageType="http://adlnet.gov/expapi/attachments/signature",
                contentType="application/octet-stream",
            )
        ],
        None,
    ),
    case(
        "content type with parameter",
        AT,
        [attachment(contentType="text/plain; charset=ascii")],
        None,
    ),
    case("SHA-512 digest", AT, [attachment(sha2="ab" * 64)], None),
    case("upper-case digest", AT, [attachment(sha2=SHA256.upper())], None),
    case("zero length", AT, [attachment(length=0)], None),
    case("several attachments", AT, [ATTACHMENT, attachment(usageType="urn:x:usage")], None),
    case("attachments not an array", AT, ATTACHMENT, "statement.attachments"),
    case("attachment numeric", AT, [12345], "statement.attachments[0]"),
    case("attachment string", AT, [ATTACHMENT, "should fail"], "statement.attachments[1]"),
    case("unknown property", AT, [attachment(size=1)], "statement.attachments[0].size"),
    case(
        "usageType missing",
        AT,
        [attachment(usageType=DELETE)],
        "statement.attachments[0].usageType",
    ),
    case("display missing", AT, [attachment(display=DELETE)], "statement.attachments[0].display"),
    case(
        "contentType missing",
        AT,
        [attachment(contentType=DELETE)],
        "statement.attachments[0].contentType",
    ),
    case("length missing", AT, [attachment(length=DELETE)], "statement.attachments[0].length"),
    case("sha2 missing", AT, [attachment(sha2=DELETE)], "statement.attachments[0].sha2"),
    case(
        "usageType not IRI",
        AT,
        [attachment(usageType="should fail")],
        "statement.attachments[0].usageType",
    ),
    case(
        "display string",
        AT,
        [attachment(display="Certificate")],
        "statement.attachments[0].display",
    ),
    case(
        "display bad tag",
        AT,
        [attachment(display={"a12345678": "x"})],
        "statement.attachments[0].display.a12345678",
    ),
    case(
        "description numeric",
        AT,
        [attachment(description=12345)],
        "statement.attachments[0].description",
    ),
    case(
        "description bad tag",
        AT,
        [attachment(description={"es-MX-": "x"})],
        'statement.attachments[0].description["es-MX-"]',
    ),
    case(
        "contentType numeric",
        AT,
        [attachment(contentType=12345)],
        "statement.attachments[0].contentType",
    ),
    case(
        "contentType without subtype",
        AT,
        [attachment(contentType="pdf")],
        "statement.attachments[0].contentType",
    ),
    case("length string", AT, [attachment(length="27")], "statement.attachments[0].length"),
    case("length decimal", AT, [attachment(length=27.5)], "statement.attachments[0].length"),
    case("length negative", AT, [attachment(length=-1)], "statement.attachments[0].length"),
    case("length boolean", AT, [attachment(length=True)], "statement.attachments[0].length"),
    case("sha2 numeric", AT, [attachment(sha2=12345)], "statement.attachments[0].sha2"),
    case("sha2 empty", AT, [attachment(sha2="")], "statement.attachments[0].sha2"),
    case("sha2 not hex", AT, [attachment(sha2="z" * 64)], "statement.attachments[0].sha2"),
    case("sha2 wrong length", AT, [attachment(sha2=SHA256[:-1])], "statement.attachments[0].sha2"),
    case(
        "fileUrl not IRL",
        AT,
        [attachment(fileUrl="should fail")],
        "statement.attachments[0].fileUrl",
    ),
    case(
        "fileUrl without scheme",
        AT,
        [attachment(fileUrl="over.there.com/file.txt")],
        "statement.attachments[0].fileUrl",
    ),
]


@pytest.mark.parametrize(("c", "version"), params(ATTACHMENT_CASES))
def test_attachments(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# Data 2.3.2 Voiding
# ---------------------------------------------------------------------------------------------
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
VOIDING_CASES = [
    cases(
        "voiding a statement reference",
        [(("verb", "id"), VOIDED), (OB, STATEMENT_REF)],
        None,
        in_sub=False,
    ),
    cases("voiding an activity", [(("verb", "id"), VOIDED)], "statement.object", in_sub=False),
    cases(
        "voiding an agent",
        [(("verb", "id"), VOIDED), (OB, AGENT_B)],
        "statement.object",
        in_sub=False,
    ),
    cases(
        "voiding a sub-statement",
        [(("verb", "id"), VOIDED), (OB, copy.deepcopy(SUB_BASE["object"]))],
        "statement.object",
        in_sub=False,
    ),
    cases("a similar verb is not voiding", [(("verb", "id"), VOIDED + "-not")], None, in_sub=False),
]


@pytest.mark.parametrize(("c", "version"), params(VOIDING_CASES))
def test_voiding(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# xAPI 2.0 additions: contextAgents / contextGroups (4.2.2.5), also inside sub-statements
# ---------------------------------------------------------------------------------------------
CTX_AGENT = {
    "objectType": "contextAgent",
    "agent": AGENT_B,
    "relevantTypes": ["https://example.com/types/coach"],
}
CTX_GROUP = {
    "objectType": "contextGroup",
    "group": ANON_GROUP,
    "relevantTypes": ["https://example.com/types/team-a"],
}


def ctx_agent(**changes: Any) -> dict[str, Any]:
    item = dict(CTX_AGENT)
    for key, value in changes.items():
        if value is DELETE:
            item.pop(key)
        else:
            item[key] = value
    return item


def ctx_group(**changes: Any) -> dict[str, Any]:
    item = dict(CTX_GROUP)
    for key, value in changes.items():
        if value is DELETE:
            item.pop(key)
        else:
            item[key] = value
    return item


ONLY_2 = (V200,)
CA_PATH = "statement.context.contextAgents"
CG_PATH = "statement.context.contextGroups"
CONTEXT_2_CASES = [
    case(
        "context agents",
        C,
        {"contextAgents": [CTX_AGENT, ctx_agent(agent=AGENT_C)]},
        None,
        versions=ONLY_2,
    ),
    case(
        "context agent without relevantTypes",
        C,
        {"contextAgents": [ctx_agent(relevantTypes=DELETE)]},
        None,
        versions=ONLY_2,
    ),
    case("empty contextAgents", C, {"contextAgents": []}, None, versions=ONLY_2),
    case(
        "context groups",
        C,
        {
            "contextGroups": [
                CTX_GROUP,
                ctx_group(group={"objectType": "Group", "mbox": "mailto:t@example.com"}),
            ]
        },
        None,
        versions=ONLY_2,
    ),
    case(
        "context group without relevantTypes",
        C,
        {"contextGroups": [ctx_group(relevantTypes=DELETE)]},
        None,
        versions=ONLY_2,
    ),
    case(
        "both lists together",
        C,
        {
            "contextAgents": [CTX_AGENT],
            "contextGroups": [CTX_GROUP],
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        },
        None,
        versions=ONLY_2,
    ),
    case("contextAgents not an array", C, {"contextAgents": CTX_AGENT}, CA_PATH, versions=ONLY_2),
    case(
        "contextAgent not an object",
        C,
        {"contextAgents": ["coach"]},
        f"{CA_PATH}[0]",
        versions=ONLY_2,
    ),
    case(
        "contextAgent objectType missing",
        C,
        {"contextAgents": [ctx_agent(objectType=DELETE)]},
        f"{CA_PATH}[0].objectType",
        versions=ONLY_2,
    ),
    case(
        "contextAgent objectType wrong",
        C,
        {"contextAgents": [ctx_agent(objectType="Should fail")]},
        f"{CA_PATH}[0].objectType",
        versions=ONLY_2,
    ),
    case(
        "contextAgent objectType case",
        C,
        {"contextAgents": [ctx_agent(objectType="ContextAgent")]},
        f"{CA_PATH}[0].objectType",
        versions=ONLY_2,
    ),
    case(
        "contextAgent agent missing",
        C,
        {"contextAgents": [ctx_agent(agent=DELETE)]},
        f"{CA_PATH}[0].agent",
        versions=ONLY_2,
    ),
    case(
        "contextAgent agent invalid",
        C,
        {"contextAgents": [ctx_agent(agent={"key": "Should fail"})]},
        f"{CA_PATH}[0].agent.key",
        versions=ONLY_2,
    ),
    case(
        "contextAgent agent bad mbox",
        C,
        {"contextAgents": [CTX_AGENT, ctx_agent(agent={"mbox": "x"})]},
        f"{CA_PATH}[1].agent.mbox",
        versions=ONLY_2,
    ),
    case(
        "contextAgent agent is a group",
        C,
        {"contextAgents": [ctx_agent(agent=ANON_GROUP)]},
        f"{CA_PATH}[0].agent",
        versions=ONLY_2,
    ),
    case(
        "contextAgent relevantTypes empty",
        C,
        {"contextAgents": [ctx_agent(relevantTypes=[])]},
        f"{CA_PATH}[0].relevantTypes",
        versions=ONLY_2,
    ),
    case(
        "contextAgent relevantTypes not IRI",
        C,
        {"contextAgents": [ctx_agent(relevantTypes=["abc"])]},
        f"{CA_PATH}[0].relevantTypes[0]",
        versions=ONLY_2,
    ),
    case(
        "contextAgent relevantTypes string",
        C,
        {"contextAgents": [ctx_agent(relevantTypes="https://example.com/t")]},
        f"{CA_PATH}[0].relevantTypes",
        versions=ONLY_2,
    ),
    case(
        "contextAgent unknown property",
        C,
        {"contextAgents": [ctx_agent(role="coach")]},
        f"{CA_PATH}[0].role",
        versions=ONLY_2,
    ),
    case("contextGroups not an array", C, {"contextGroups": CTX_GROUP}, CG_PATH, versions=ONLY_2),
    case(
        "contextGroup objectType wrong",
        C,
        {"contextGroups": [ctx_group(objectType="contextAgent")]},
        f"{CG_PATH}[0].objectType",
        versions=ONLY_2,
    ),
    case(
        "contextGroup group missing",
        C,
        {"contextGroups": [ctx_group(group=DELETE)]},
        f"{CG_PATH}[0].group",
        versions=ONLY_2,
    ),
    case(
        "contextGroup group is an agent",
        C,
        {"contextGroups": [ctx_group(group=AGENT_B)]},
        f"{CG_PATH}[0].group.objectType",
        versions=ONLY_2,
    ),
    case(
        "contextGroup group invalid",
        C,
        {"contextGroups": [ctx_group(group={"key": "Should fail"})]},
        f"{CG_PATH}[0].group.objectType",
        versions=ONLY_2,
    ),
    case(
        "contextGroup anonymous without member",
        C,
        {"contextGroups": [ctx_group(group={"objectType": "Group"})]},
        f"{CG_PATH}[0].group.member",
        versions=ONLY_2,
    ),
    case(
        "contextGroup relevantTypes empty",
        C,
        {"contextGroups": [ctx_group(relevantTypes=[])]},
        f"{CG_PATH}[0].relevantTypes",
        versions=ONLY_2,
    ),
    case(
        "contextGroup relevantTypes not IRI",
        C,
        {"contextGroups": [ctx_group(relevantTypes=["https://ok.example", "team a"])]},
        f"{CG_PATH}[0].relevantTypes[1]",
        versions=ONLY_2,
    ),
    case(
        "contextGroup unknown property",
        C,
        {"contextGroups": [ctx_group(agent=AGENT_B)]},
        f"{CG_PATH}[0].agent",
        versions=ONLY_2,
    ),
]


@pytest.mark.parametrize(("c", "version"), params(CONTEXT_2_CASES))
def test_context_agents_and_groups(c: Case, version: str) -> None:
    check(c, version)


# ---------------------------------------------------------------------------------------------
# validate_agent: agents given outside statements (query parameters, document resources)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize(
    ("agent", "error"),
    [
        ({"mbox": "mailto:a@example.com"}, None),
        ({"objectType": "Agent", "account": {"homePage": "https://x.example", "name": "a"}}, None),
        ({"objectType": "Group", "mbox": "mailto:team@example.com"}, None),
        ({"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}, None),
        ("mailto:a@example.com", "agent"),
        ({}, "agent"),
        ({"mbox": "a@example.com"}, "agent.mbox"),
        ({"mbox": "mailto:a@example.com", "openid": "https://o.example/a"}, "agent"),
        ({"objectType": "Person", "mbox": "mailto:a@example.com"}, "agent.objectType"),
        ({"mbox": "mailto:a@example.com", "extra": True}, "agent.extra"),
    ],
)
def test_validate_agent(agent: object, error: str | None, version: str) -> None:
    if error is None:
        validate_agent(agent, version)
        return
    with pytest.raises(InvalidStatement) as caught:
        validate_agent(agent, version)
    assert caught.value.path == error


def test_validate_agent_can_forbid_groups() -> None:
    group = {"objectType": "Group", "mbox": "mailto:team@example.com"}
    with pytest.raises(InvalidStatement) as caught:
        validate_agent(group, V103, "agent", allow_group=False)
    assert caught.value.path == "agent.objectType"
    validate_agent({"mbox": "mailto:a@example.com"}, V103, "agent", allow_group=False)


# ---------------------------------------------------------------------------------------------
# Messages: clear, naming the field, and bounded in size whatever the client sent
# ---------------------------------------------------------------------------------------------
def test_message_hints_at_case_mismatch() -> None:
    bad = apply(BASE, (((("verb", "ID")), "http://example.com/v"),))
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(bad, V103)
    assert caught.value.path == "statement.verb.ID"
    assert "'id'" in caught.value.message and "case-sensitive" in caught.value.message


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("verb", "id"), "x" * 1_000_000, "statement.verb.id"),
        (("actor", "mbox"), "mailto:" + "a" * 100_000, "statement.actor.mbox"),
        (
            ("object", "definition", "extensions"),
            {"k" * 100_000: 1},
            "statement.object.definition.extensions[",
        ),
    ],
)
def test_messages_stay_small_for_huge_values(path: Path, value: Any, where: str) -> None:
    bad = apply(BASE, ((path, value),))
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(bad, V200)
    assert caught.value.path.startswith(where)
    assert len(str(caught.value)) < 600


def test_error_message_reads_well() -> None:
    bad = apply(BASE, ((("result",), {"score": {"scaled": 1.5}}),))
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(bad, V103)
    assert str(caught.value) == "statement.result.score.scaled: must be between -1 and 1, got 1.5"
