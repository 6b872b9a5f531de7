"""multipart/mixed framing of statement requests and responses (Communication 1.5.2 / 2.0 4.1.3)."""

from __future__ import annotations

import hashlib
import json
import random
import re
import time

import pytest

from learnproof_lrs.domain.errors import BadRequest
from learnproof_lrs.domain.multipart import (
    build_multipart_mixed,
    content_type_params,
    media_type,
    parse_multipart_mixed,
)

BOUNDARY = "-------314159265358979323846"
CT = f"multipart/mixed; boundary={BOUNDARY}"
STATEMENT = json.dumps({"actor": {"mbox": "mailto:a@example.com"}}).encode()
TEXT = b"here is a simple attachment"
TEXT_SHA = hashlib.sha256(TEXT).hexdigest()


def part(headers: list[str], content: bytes, nl: bytes = b"\r\n") -> bytes:
    head = b"".join(h.encode() + nl for h in headers)
    return head + nl + content


def framed(
    *parts: bytes,
    boundary: str = BOUNDARY,
    nl: bytes = b"\r\n",
    preamble: bytes = b"",
    epilogue: bytes = b"",
    close: bytes = b"--",
) -> bytes:
    """A multipart body; each part is headers + blank line + content."""
    delimiter = b"--" + boundary.encode()
    out = preamble + (nl if preamble else b"") + delimiter
    for p in parts:
        out += nl + p + nl + delimiter
    return out + close + epilogue


def json_part(nl: bytes = b"\r\n", header: str = "Content-Type: application/json") -> bytes:
    return part([header], STATEMENT, nl)


def text_part(content: bytes = TEXT, sha: str = TEXT_SHA, nl: bytes = b"\r\n") -> bytes:
    headers = [
        "Content-Type: text/plain",
        "Content-Transfer-Encoding: binary",
        f"X-Experience-API-Hash: {sha}",
    ]
    return part(headers, content, nl)


# --- Content-Type header -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        (CT, BOUNDARY),
        (f'multipart/mixed; boundary="{BOUNDARY}"', BOUNDARY),
        ('Multipart/Mixed;Boundary="abcABC0123\'()+_,-./:=?"', "abcABC0123'()+_,-./:=?"),
        ('multipart/mixed; charset=utf-8; boundary="a;b"', "a;b"),
        ('multipart/mixed; boundary="a\\"b"', 'a"b'),
        ("multipart/mixed ;  boundary = xyz  ", "xyz"),
    ],
)
def test_boundary_is_read_from_content_type(header: str, boundary: str) -> None:
    assert media_type(header) == "multipart/mixed"
    assert content_type_params(header)["boundary"] == boundary


def test_media_type_of_missing_or_malformed_header_is_empty() -> None:
    assert media_type(None) == ""
    assert media_type("not a media type") == ""
    assert media_type("application/json; charset=utf-8") == "application/json"


# --- accepted bodies -------------------------------------------------------------------------


def suite_signed_style(statement: bytes, sig: bytes, sha: str, boundary: str) -> bytes:
    """The ADL suite's signed layout: leading CRLF, no space after colons, no final CRLF."""
    return b"".join(
        [
            f"\r\n--{boundary}\r\nContent-Type:application/json\r\n\r\n".encode(),
            statement,
            f"\r\n--{boundary}\r\nContent-Type:application/octet-stream\r\n"
            f"Content-Transfer-Encoding:binary\r\nX-Experience-API-Hash:{sha}\r\n\r\n".encode(),
            sig,
            f"\r\n--{boundary}--".encode(),
        ]
    )


ACCEPTED = {
    "plain": (framed(json_part(), text_part()), CT),
    "trailing CRLF after close": (framed(json_part(), text_part(), epilogue=b"\r\n"), CT),
    "preamble and epilogue": (
        framed(json_part(), text_part(), preamble=b"This is a preamble.", epilogue=b"\r\nbye\r\n"),
        CT,
    ),
    "suite signed layout": (
        suite_signed_style(STATEMENT, TEXT, TEXT_SHA, "-----1234"),
        "multipart/mixed; boundary=-----1234",
    ),
    "spec example boundary": (
        framed(json_part(), text_part(), boundary="abcABC0123'()+_,-./:=?"),
        'multipart/mixed; boundary="abcABC0123\'()+_,-./:=?"',
    ),
    "bare LF line ends": (framed(json_part(b"\n"), text_part(nl=b"\n"), nl=b"\n"), CT),
    "transport padding after delimiters": (
        framed(json_part(), text_part()).replace(
            f"--{BOUNDARY}\r\n".encode(), f"--{BOUNDARY} \t\r\n".encode()
        ),
        CT,
    ),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_well_formed_bodies_give_the_json_and_the_attachment(name: str) -> None:
    body, header = ACCEPTED[name]
    parsed = parse_multipart_mixed(body, header)
    assert parsed.statements == STATEMENT
    assert len(parsed.parts) == 1
    (p,) = parsed.parts
    assert p.data == TEXT
    assert p.sha2 == TEXT_SHA
    assert p.content_type in ("text/plain", "application/octet-stream")


def test_header_names_are_case_insensitive_and_values_trimmed() -> None:
    attachment = part(
        [
            "content-TYPE:   image/png ",
            "CONTENT-transfer-ENCODING: BINARY",
            f"x-experience-api-HASH:{TEXT_SHA}",
        ],
        TEXT,
    )
    parsed = parse_multipart_mixed(
        framed(part(["CONTENT-TYPE: Application/JSON; charset=UTF-8"], STATEMENT), attachment), CT
    )
    assert parsed.statements == STATEMENT
    assert parsed.parts[0].content_type == "image/png"
    assert parsed.parts[0].headers["content-transfer-encoding"] == "BINARY"


def test_missing_transfer_encoding_is_assumed_binary() -> None:
    attachment = part(["Content-Type: text/plain", f"X-Experience-API-Hash: {TEXT_SHA}"], TEXT)
    parsed = parse_multipart_mixed(framed(json_part(), attachment), CT)
    assert parsed.parts[0].data == TEXT


def test_folded_header_lines_are_joined() -> None:
    attachment = part(
        ["Content-Type: text/plain;", " charset=ascii", f"X-Experience-API-Hash: {TEXT_SHA}"], TEXT
    )
    parsed = parse_multipart_mixed(framed(json_part(), attachment), CT)
    assert parsed.parts[0].content_type == "text/plain; charset=ascii"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\r\n",
        b"ends with CRLF\r\n",
        b"\r\n\r\nstarts with blank lines",
        b"\x00\xff\r\n--not-the-boundary\r\n--",
        f"\r\n--{BOUNDARY}X is a longer line, not a delimiter".encode(),
        f"--{BOUNDARY}-- in the middle of a line".encode(),
        bytes(range(256)) * 4,
    ],
)
def test_binary_content_is_kept_byte_for_byte(content: bytes) -> None:
    sha = hashlib.sha256(content).hexdigest()
    parsed = parse_multipart_mixed(framed(json_part(), text_part(content, sha)), CT)
    assert parsed.parts[0].data == content


def test_several_parts_keep_their_order() -> None:
    contents = [b"one", b"two", b"three"]
    parts = [text_part(c, hashlib.sha256(c).hexdigest()) for c in contents]
    parsed = parse_multipart_mixed(framed(json_part(), *parts), CT)
    assert [p.data for p in parsed.parts] == contents
    assert [p.sha2 for p in parsed.parts] == [hashlib.sha256(c).hexdigest() for c in contents]


def test_statements_only_body_has_no_parts() -> None:
    parsed = parse_multipart_mixed(framed(json_part()), CT)
    assert parsed.statements == STATEMENT
    assert parsed.parts == ()


def test_part_without_headers_is_allowed_for_framing() -> None:
    # RFC 2046: a part may start with the blank line; the attachment rules then reject it.
    with pytest.raises(BadRequest, match="part 2 has no X-Experience-API-Hash"):
        parse_multipart_mixed(framed(json_part(), b"\r\n" + TEXT), CT)


def test_several_megabytes_are_parsed_quickly() -> None:
    big = (bytes(range(256)) * 4096 * 8)[: 8 * 1024 * 1024]  # 8 MiB with CR, LF and dashes
    sha = hashlib.sha256(big).hexdigest()
    body = framed(json_part(), text_part(big, sha), text_part(TEXT))
    started = time.perf_counter()
    parsed = parse_multipart_mixed(body, CT)
    elapsed = time.perf_counter() - started
    assert parsed.parts[0].data == big
    assert parsed.parts[1].data == TEXT
    assert elapsed < 1.0, f"parsing 8 MiB took {elapsed:.3f}s"


# --- rejected bodies -------------------------------------------------------------------------


REJECTED = {
    "multipart/form-data": (
        framed(json_part(), text_part()),
        f"multipart/form-data; boundary={BOUNDARY}",
        "expected a multipart/mixed",
    ),
    "no boundary parameter": (framed(json_part(), text_part()), "multipart/mixed;", "no boundary"),
    "empty boundary": (
        framed(json_part(), text_part()),
        'multipart/mixed; boundary=""',
        "no boundary",
    ),
    "non-ASCII boundary": (framed(json_part()), "multipart/mixed; boundary=ü", "ASCII"),
    "unterminated quoted boundary": (
        framed(json_part()),
        'multipart/mixed; boundary="abc',
        "quoted",
    ),
    "other boundary in body": (
        framed(json_part(), text_part(), boundary="other"),
        CT,
        "no boundary delimiter",
    ),
    "empty body": (b"", CT, "no boundary delimiter"),
    "no closing delimiter": (
        framed(json_part(), text_part(), close=b"\r\n") + b"trailing",
        CT,
        "closing boundary",
    ),
    "only a close delimiter": (f"--{BOUNDARY}--\r\n".encode(), CT, "no statement part"),
    "first part text/plain": (
        framed(part(["Content-Type: text/plain"], STATEMENT), text_part()),
        CT,
        "first multipart part must hold the statements",
    ),
    "first part without Content-Type": (
        framed(part(["X-Other: 1"], STATEMENT), text_part()),
        CT,
        "it has no Content-Type",
    ),
    "attachment without hash": (
        framed(
            json_part(),
            part(["Content-Type: text/plain", "Content-Transfer-Encoding: binary"], TEXT),
        ),
        CT,
        "part 2 has no X-Experience-API-Hash",
    ),
    "attachment base64 encoded": (
        framed(
            json_part(),
            part(
                [
                    "Content-Type: text/plain",
                    "Content-Transfer-Encoding: base64",
                    f"X-Experience-API-Hash: {TEXT_SHA}",
                ],
                TEXT,
            ),
        ),
        CT,
        "Content-Transfer-Encoding 'base64'",
    ),
    "header line without colon": (
        framed(
            json_part(),
            part(["Content-Type text/plain", f"X-Experience-API-Hash: {TEXT_SHA}"], TEXT),
        ),
        CT,
        "malformed header line",
    ),
    "header name with space": (
        framed(
            json_part(),
            part(["Content Type: text/plain", f"X-Experience-API-Hash: {TEXT_SHA}"], TEXT),
        ),
        CT,
        "malformed header line",
    ),
    "headers never end": (
        framed(json_part(), b"Content-Type: text/plain\r\nX-Experience-API-Hash: x"),
        CT,
        "not followed by an empty line",
    ),
    "conflicting repeated hash": (
        framed(json_part(), part(["X-Experience-API-Hash: a", "X-Experience-API-Hash: b"], TEXT)),
        CT,
        "repeated",
    ),
    "LF delimiter in a CRLF body": (
        framed(json_part(), text_part()).replace(
            f"\r\n--{BOUNDARY}--".encode(), f"\n--{BOUNDARY}--".encode()
        ),
        CT,
        "closing boundary",
    ),
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_malformed_bodies_are_400_with_a_clear_message(name: str) -> None:
    body, header, message = REJECTED[name]
    with pytest.raises(BadRequest, match=re.escape(message)):
        parse_multipart_mixed(body, header)


# The ADL suite's multipart cases (Communication 1.5.2, XAPI-00130/133/134/135), in our words.


def test_no_delimiter_before_the_statement_part_makes_the_attachment_the_first_part() -> None:
    body = part(["Content-Type: application/json"], STATEMENT) + f"\r\n--{BOUNDARY}\r\n".encode()
    body += text_part() + f"\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(BadRequest, match="first multipart part must hold the statements"):
        parse_multipart_mixed(body, CT)


def test_no_delimiter_between_statement_and_attachment_leaves_no_attachment_part() -> None:
    body = f"--{BOUNDARY}\r\n".encode() + json_part() + b"\r\n" + text_part()
    body += f"\r\n--{BOUNDARY}--\r\n".encode()
    parsed = parse_multipart_mixed(body, CT)
    assert parsed.parts == ()
    with pytest.raises(ValueError):
        json.loads(parsed.statements)  # the statement part now holds the attachment too


def test_statements_split_over_two_json_parts_are_rejected() -> None:
    with pytest.raises(BadRequest, match="part 2 has no X-Experience-API-Hash"):
        parse_multipart_mixed(framed(json_part(), json_part(), text_part()), CT)


# --- responses -------------------------------------------------------------------------------


def test_built_response_parses_back_to_the_same_content() -> None:
    image = bytes(range(256)) * 3
    image_sha = hashlib.sha256(image).hexdigest()
    body, header = build_multipart_mixed(
        STATEMENT, [(TEXT_SHA, "text/plain; charset=ascii", TEXT), (image_sha, "image/png", image)]
    )
    assert re.fullmatch(r"multipart/mixed; boundary=[0-9a-z-]+", header)
    parsed = parse_multipart_mixed(body, header)
    assert parsed.statements == STATEMENT
    assert [(p.sha2, p.content_type, p.data) for p in parsed.parts] == [
        (TEXT_SHA, "text/plain; charset=ascii", TEXT),
        (image_sha, "image/png", image),
    ]
    assert all(p.headers["content-transfer-encoding"] == "binary" for p in parsed.parts)


def test_built_response_matches_the_wire_format_exactly() -> None:
    body, header = build_multipart_mixed(b"{}", [(TEXT_SHA, "text/plain", TEXT)])
    boundary = header.split("boundary=")[1]
    assert (
        body
        == (
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n"
            f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {TEXT_SHA}\r\n\r\n{TEXT.decode()}\r\n--{boundary}--\r\n"
        ).encode()
    )
    # Once in the statement (not here: '{}'), once in its part header.
    assert body.count(TEXT_SHA.encode()) == 1


def test_built_response_sends_an_attachment_used_twice_once() -> None:
    body, header = build_multipart_mixed(
        b"[]", [(TEXT_SHA, "text/plain", TEXT), (TEXT_SHA.upper(), "text/plain", TEXT)]
    )
    assert len(parse_multipart_mixed(body, header).parts) == 1


def test_built_response_without_attachments_has_only_the_json_part() -> None:
    body, header = build_multipart_mixed(STATEMENT, [])
    parsed = parse_multipart_mixed(body, header)
    assert parsed.statements == STATEMENT
    assert parsed.parts == ()


def test_built_boundary_never_occurs_in_the_content() -> None:
    contents = [f"lrs-{i:032x}".encode() for i in range(50)]
    attachments = [(hashlib.sha256(c).hexdigest(), "text/plain", c) for c in contents]
    body, header = build_multipart_mixed(STATEMENT, attachments)
    boundary = header.split("boundary=")[1].encode()
    assert body.count(boundary) == len(contents) + 2  # one per part plus the close delimiter
    assert [p.data for p in parse_multipart_mixed(body, header).parts] == contents


def test_header_injection_through_a_content_type_is_refused() -> None:
    with pytest.raises(ValueError):
        build_multipart_mixed(STATEMENT, [(TEXT_SHA, "text/plain\r\nX-Evil: 1", TEXT)])


# --- robustness: malformed input is a 400, never another exception ------------------------------


def test_every_truncation_and_random_corruption_is_parsed_or_a_400() -> None:
    body = framed(json_part(), text_part(), text_part(b"two", hashlib.sha256(b"two").hexdigest()))
    rng = random.Random(20240504)
    candidates = [body[:cut] for cut in range(len(body) + 1)]
    for _ in range(2000):
        mutated = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.choice(b"\r\n-: \x00\xffaZ")
        candidates.append(bytes(mutated))
    outcomes = {"parsed": 0, "rejected": 0}
    for candidate in candidates:
        try:
            parse_multipart_mixed(candidate, CT)
        except BadRequest:
            outcomes["rejected"] += 1
        else:
            outcomes["parsed"] += 1
    assert outcomes["parsed"] > 0
    assert outcomes["rejected"] > 0
