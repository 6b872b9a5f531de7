"""Binding attachment objects to multipart parts (Data 2.4.11, Communication 1.5.2, Data 2.6)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from learnproof_lrs.domain.attachments import match_attachments, verify_part_hash
from learnproof_lrs.domain.errors import BadRequest
from learnproof_lrs.domain.multipart import Part

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
TEXT = b"here is a simple attachment"
TEXT_SHA = hashlib.sha256(TEXT).hexdigest()
OTHER = b"another attachment"
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()
JWS = b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
JWS_SHA = hashlib.sha256(JWS).hexdigest()


def attachment(sha2: str, **extra: Any) -> dict[str, Any]:
    return {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": "text/plain",
        "length": 27,
        "sha2": sha2,
        **extra,
    }


def signature_attachment(sha2: str = JWS_SHA, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"usageType": SIGNATURE, "contentType": "application/octet-stream"}
    return attachment(sha2, **{**fields, **extra})


def statement(*attachments: dict[str, Any]) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": "http://example.com/activity"},
        "attachments": list(attachments),
    }


def part(data: bytes, sha2: str | None = None, content_type: str | None = "text/plain") -> Part:
    return Part(sha2=sha2 or hashlib.sha256(data).hexdigest(), content_type=content_type, data=data)


# --- accepted --------------------------------------------------------------------------------


def test_each_attachment_without_file_url_gets_its_part() -> None:
    parts = [part(TEXT), part(OTHER)]
    matched = match_attachments([statement(attachment(TEXT_SHA), attachment(OTHER_SHA))], parts)
    assert matched == {TEXT_SHA: parts[0], OTHER_SHA: parts[1]}


def test_file_url_attachments_need_no_part() -> None:
    assert (
        match_attachments([statement(attachment(TEXT_SHA, fileUrl="http://x.example/f"))], []) == {}
    )


def test_file_url_attachment_may_still_come_with_its_part() -> None:
    p = part(TEXT)
    matched = match_attachments(
        [statement(attachment(TEXT_SHA, fileUrl="http://x.example/f"))], [p]
    )
    assert matched == {TEXT_SHA: p}


def test_statements_without_attachments_and_no_parts_match_nothing() -> None:
    plain = statement()
    del plain["attachments"]
    assert match_attachments([plain, statement()], []) == {}


def test_one_part_serves_every_statement_that_declares_its_hash() -> None:
    p = part(TEXT)
    batch = [statement(attachment(TEXT_SHA)), statement(attachment(TEXT_SHA))]
    assert match_attachments(batch, [p]) == {TEXT_SHA: p}


def test_hash_case_does_not_matter_and_keys_follow_the_statement_spelling() -> None:
    p = part(TEXT, sha2=TEXT_SHA.upper())
    matched = match_attachments([statement(attachment(TEXT_SHA.upper()))], [p])
    assert matched == {TEXT_SHA.upper(): p}
    matched = match_attachments([statement(attachment(TEXT_SHA))], [p])
    assert matched == {TEXT_SHA: p}


def test_a_substatements_attachment_can_reference_a_part() -> None:
    outer = statement()
    outer["object"] = {"objectType": "SubStatement", **statement(attachment(TEXT_SHA))}
    p = part(TEXT)
    assert match_attachments([outer], [p]) == {TEXT_SHA: p}


@pytest.mark.parametrize("algorithm", ["sha224", "sha256", "sha384", "sha512"])
def test_every_sha2_length_is_checked_with_its_own_algorithm(algorithm: str) -> None:
    sha = hashlib.new(algorithm, TEXT).hexdigest()
    p = part(TEXT, sha2=sha)
    verify_part_hash(p, 2)
    assert match_attachments([statement(attachment(sha))], [p]) == {sha: p}


def test_a_signature_attachment_with_its_octet_stream_part_matches() -> None:
    p = part(JWS, content_type="application/octet-stream")
    assert match_attachments([statement(signature_attachment())], [p]) == {JWS_SHA: p}


def test_a_signature_part_without_content_type_header_is_accepted() -> None:
    p = part(JWS, content_type=None)
    assert match_attachments([statement(signature_attachment())], [p]) == {JWS_SHA: p}


# --- rejected --------------------------------------------------------------------------------

MISMATCH_SHA = "b018994f8bbe0f08992a65c48c8c8c56f09e9baceaa6227ed85c90ae52b73c89"

REJECTED: dict[str, tuple[list[dict[str, Any]], list[Part], str]] = {
    "hash header is not the part's digest": (
        [statement(attachment(MISMATCH_SHA))],
        [part(TEXT, sha2=MISMATCH_SHA)],
        f"X-Experience-API-Hash {MISMATCH_SHA} is not the SHA-256 of the part's content",
    ),
    "hash header is not hex": (
        [statement(attachment("z" * 64))],
        [part(TEXT, sha2="z" * 64)],
        "is not a hex SHA-224, SHA-256, SHA-384 or SHA-512 digest",
    ),
    "hash header has a SHA-1 length": (
        [statement(attachment(hashlib.sha1(TEXT).hexdigest()))],
        [part(TEXT, sha2=hashlib.sha1(TEXT).hexdigest())],
        "is not a hex SHA-224",
    ),
    "excess part referenced by no attachment": (
        [statement(attachment(TEXT_SHA))],
        [part(TEXT), part(OTHER)],
        f"multipart part 3 (X-Experience-API-Hash {OTHER_SHA}) is not the sha2 of any attachment",
    ),
    "part sent for a statement without attachments": (
        [{"actor": {}, "verb": {}, "object": {}}],
        [part(TEXT)],
        "multipart part 2",
    ),
    "attachment without fileUrl and no part": (
        [statement(attachment(TEXT_SHA), attachment(OTHER_SHA))],
        [part(TEXT)],
        f"attachments[1]: no multipart part carries the attachment with sha2 '{OTHER_SHA}'",
    ),
    "application/json request with a raw attachment": (
        [
            statement(attachment(TEXT_SHA, fileUrl="http://x.example/f")),
            statement(attachment(OTHER_SHA)),
        ],
        [],
        "statements[1].attachments[0]: no multipart part carries the attachment",
    ),
    "signature attachment with text/plain contentType": (
        [statement(signature_attachment(contentType="text/plain; charset=ascii"))],
        [part(JWS, content_type="text/plain; charset=ascii")],
        "a signature attachment must have contentType application/octet-stream",
    ),
    "signature attachment with only a fileUrl": (
        [statement(signature_attachment(fileUrl="http://x.example/sig"))],
        [],
        "the signature attachment's JWS must be sent as a multipart/mixed part",
    ),
    "signature part with another Content-Type header": (
        [statement(signature_attachment())],
        [part(JWS, content_type="text/plain")],
        "the part carrying the signature has Content-Type 'text/plain'",
    ),
    "substatement attachment without its part": (
        [
            {
                **statement(),
                "object": {"objectType": "SubStatement", **statement(attachment(TEXT_SHA))},
            }
        ],
        [],
        "object.attachments[0]: no multipart part",
    ),
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_broken_attachment_rules_are_400_naming_the_culprit(name: str) -> None:
    statements, parts, message = REJECTED[name]
    with pytest.raises(BadRequest, match=re.escape(message)):
        match_attachments(statements, parts)


def test_hash_check_covers_every_byte() -> None:
    tampered = part(TEXT[:-1] + b"!", sha2=TEXT_SHA)
    with pytest.raises(BadRequest, match="is not the SHA-256"):
        verify_part_hash(tampered, 2)


@pytest.mark.parametrize(
    "statements",
    [
        [{"attachments": [1, "x", None]}],
        [{"attachments": [{"sha2": 5}]}],
        [{"attachments": [{"usageType": SIGNATURE, "contentType": 5, "sha2": JWS_SHA}]}],
        [{"attachments": [{"usageType": SIGNATURE, "sha2": None}]}],
        [{"object": {"objectType": "SubStatement", "attachments": {"sha2": TEXT_SHA}}}],
    ],
)
def test_odd_shapes_are_a_400_or_ignored_never_a_crash(statements: list[dict[str, Any]]) -> None:
    try:
        assert match_attachments(statements, []) == {}
    except BadRequest as exc:
        assert exc.status == 400
