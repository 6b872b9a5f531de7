"""Pure document rules: parameters, ETags, merge and the precondition table of each version."""

from __future__ import annotations

import hashlib
import json

import pytest

from learnproof_lrs.domain import documents as dm
from learnproof_lrs.domain.errors import BadRequest, Conflict, PreconditionFailed
from learnproof_lrs.domain.versions import V103, V200

AGENT = json.dumps({"mbox": "mailto:a@example.com"})
ACTIVITY = "http://example.com/activity"


def doc(content: bytes = b'{"a": 1}', ctype: str = "application/json") -> dm.StoredDocument:
    return dm.StoredDocument(ctype, content, dm.etag_of(content), 1)


# --- ETags ---


def test_etag_is_sha1_hex_and_quoted_on_the_wire() -> None:
    assert dm.etag_of(b"abc") == hashlib.sha1(b"abc").hexdigest()
    assert dm.quoted("ab") == '"ab"'


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        (None, None),
        ("*", frozenset({"*"})),
        ('"ABC"', frozenset({"abc"})),
        ('W/"abc", "def"', frozenset({"abc", "def"})),
        ("abc", frozenset({"abc"})),
    ],
)
def test_parse_etags(header: str | None, tags: frozenset[str] | None) -> None:
    assert dm.parse_etags(header) == tags


# --- Preconditions ---

CURRENT = doc()
TAG = f'"{CURRENT.etag}"'


@pytest.mark.parametrize(
    ("if_match", "if_none_match", "current", "fails"),
    [
        (TAG, None, CURRENT, False),
        ('"other"', None, CURRENT, True),
        ("*", None, CURRENT, False),
        ("*", None, None, True),
        (TAG, None, None, True),
        (None, "*", None, False),
        (None, "*", CURRENT, True),
        (None, TAG, CURRENT, True),
        (None, '"other"', CURRENT, False),
        (None, None, CURRENT, False),
    ],
)
def test_check_preconditions(
    if_match: str | None, if_none_match: str | None, current: dm.StoredDocument | None, fails: bool
) -> None:
    pre = dm.Preconditions.from_headers(if_match, if_none_match)
    if fails:
        with pytest.raises(PreconditionFailed):
            dm.check_preconditions(pre, current)
    else:
        dm.check_preconditions(pre, current)


NONE = dm.Preconditions()


@pytest.mark.parametrize(
    ("kind", "version", "exists", "error"),
    [
        (dm.STATE, V103, False, None),
        (dm.STATE, V103, True, None),
        (dm.STATE, V200, False, None),
        (dm.STATE, V200, True, Conflict),
        (dm.ACTIVITY_PROFILE, V103, False, BadRequest),
        (dm.ACTIVITY_PROFILE, V103, True, Conflict),
        (dm.AGENT_PROFILE, V103, False, BadRequest),
        (dm.AGENT_PROFILE, V103, True, Conflict),
        (dm.ACTIVITY_PROFILE, V200, False, None),
        (dm.AGENT_PROFILE, V200, True, Conflict),
    ],
)
def test_unconditional_put(
    kind: str, version: str, exists: bool, error: type[Exception] | None
) -> None:
    current = CURRENT if exists else None
    if error is None:
        assert dm.plan_write("PUT", kind, version, NONE, current, "text/plain", b"x") == (
            "text/plain",
            b"x",
        )
    else:
        with pytest.raises(error):
            dm.plan_write("PUT", kind, version, NONE, current, "text/plain", b"x")


def test_conditional_put_is_never_409() -> None:
    pre = dm.Preconditions.from_headers(TAG, None)
    for kind in dm.KINDS:
        for version in (V103, V200):
            assert dm.plan_write("PUT", kind, version, pre, CURRENT, "a/b", b"y") == ("a/b", b"y")


# --- POST: merge ---


def test_post_merges_top_level_and_replaces_nested_whole() -> None:
    current = doc(b'{"car": {"make": "Ford", "model": "Escape"}, "driver": "Dale"}')
    ctype, content = dm.plan_write(
        "POST",
        dm.STATE,
        V103,
        NONE,
        current,
        "application/json; charset=utf-8",
        b'{"car": {"make": "Dodge"}, "series": 1}',
    )
    assert ctype == "application/json"
    assert json.loads(content) == {"car": {"make": "Dodge"}, "driver": "Dale", "series": 1}


@pytest.mark.parametrize(
    ("stored", "ctype", "posted"),
    [
        (doc(), "text/plain", b"abc"),
        (doc(b"abc", "application/octet-stream"), "application/json", b'{"a": 1}'),
        (doc(), "application/json", b'{"a": 1}{'),
        (doc(), "application/json", b"[1]"),
        (doc(b"[1]"), "application/json", b'{"a": 1}'),
        (doc(b"x", "text/plain"), "text/plain", b"y"),
    ],
)
def test_post_that_cannot_merge(stored: dm.StoredDocument, ctype: str, posted: bytes) -> None:
    with pytest.raises(BadRequest):
        dm.plan_write("POST", dm.STATE, V103, NONE, stored, ctype, posted)


def test_post_of_a_new_document_keeps_its_bytes_but_json_must_be_an_object() -> None:
    assert dm.plan_write("POST", dm.STATE, V103, NONE, None, "text/csv", b"a,b") == (
        "text/csv",
        b"a,b",
    )
    raw = b'{ "a" : 1 }'
    assert dm.plan_write("POST", dm.STATE, V103, NONE, None, "application/json", raw)[1] == raw
    with pytest.raises(BadRequest):
        dm.plan_write("POST", dm.STATE, V103, NONE, None, "application/json", b'"string"')


def test_post_honours_preconditions() -> None:
    with pytest.raises(PreconditionFailed):
        pre = dm.Preconditions.from_headers('"nope"', None)
        dm.plan_write("POST", dm.STATE, V200, pre, CURRENT, "application/json", b"{}")


# --- Parameters ---


def test_state_parameters() -> None:
    params = {
        "activityId": ACTIVITY,
        "agent": AGENT,
        "stateId": "s",
        "registration": "A" * 8 + "-aaaa-4aaa-8aaa-" + "a" * 12,
    }
    parsed = dm.parse_request(dm.STATE, "PUT", params, "store", V103)
    assert parsed.key is not None
    assert parsed.key.registration == params["registration"].lower()
    assert parsed.owner.agent_key == "mbox:mailto:a@example.com"
    listing = dm.parse_request(
        dm.STATE,
        "GET",
        {"activityId": ACTIVITY, "agent": AGENT, "since": "2020-01-01T00:00:00Z"},
        "s",
        V200,
    )
    assert listing.key is None
    assert listing.owner.registration is None  # every registration
    assert listing.since_us == 1_577_836_800_000_000


@pytest.mark.parametrize(
    ("kind", "method", "params"),
    [
        (dm.STATE, "PUT", {"activityId": ACTIVITY, "agent": AGENT}),  # no stateId
        (dm.STATE, "GET", {"agent": AGENT}),
        (dm.STATE, "DELETE", {"activityId": ACTIVITY}),
        (dm.STATE, "GET", {"activityId": ACTIVITY, "agent": AGENT, "since": "yesterday"}),
        (
            dm.STATE,
            "DELETE",
            {"activityId": ACTIVITY, "agent": AGENT, "since": "2020-01-01T00:00:00Z"},
        ),
        (dm.ACTIVITY_PROFILE, "POST", {"activityId": ACTIVITY}),
        (dm.ACTIVITY_PROFILE, "GET", {"activityId": "no iri"}),
        (dm.AGENT_PROFILE, "GET", {"agent": '{"name": "anonymous"}'}),
        (dm.AGENT_PROFILE, "PUT", {"agent": AGENT, "profileId": "p", "registration": "x"}),
    ],
)
def test_bad_parameters(kind: str, method: str, params: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        dm.parse_request(kind, method, params, "store", V103)


def test_keys_hash_long_values_to_fixed_length() -> None:
    owner = dm.DocumentSet("s", dm.STATE, "http://example.com/" + "a" * 5000, "mbox:mailto:x@y", "")
    key = dm.DocumentKey(owner, "", "id" * 3000)
    assert len(owner.owner_hash) == 64 and len(key.doc_hash) == 64
    other = dm.DocumentSet("s", dm.ACTIVITY_PROFILE, owner.activity_id, owner.agent_key, "")
    assert other.owner_hash != owner.owner_hash


# --- Agents / Activities answers ---


def test_person_and_activity_objects() -> None:
    agent = {"name": "Ann", "mbox": "mailto:ann@example.com"}
    assert dm.person(agent, ["Ann", "Annie"]) == {
        "objectType": "Person",
        "name": ["Ann", "Annie"],
        "mbox": ["mailto:ann@example.com"],
    }
    assert dm.activity_object("http://x.org/a", None) == {
        "objectType": "Activity",
        "id": "http://x.org/a",
    }
