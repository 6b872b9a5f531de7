"""multipart/mixed framing for statements with attachments (xAPI Communication 1.5.2, RFC 2046).

Requests: the first part holds the statement(s) as `application/json`; every later part holds the
raw octets of one attachment with an `X-Experience-API-Hash` header (the SHA-2 of the octets) and,
when present, `Content-Transfer-Encoding: binary`. Both 1.0.3 (1.5.2.s2.b2) and 2.0 (4.1.3) word
the header rules the same way, as requirements on the client, and both say the LRS SHOULD assume
binary when the encoding header is absent; so a missing encoding is accepted and any other value
(`base64`, ...) is rejected. Matching parts to statements and checking the hashes against the
octets is `attachments.match_attachments`'s job; this module only frames.

Delimiters follow RFC 2046: a line `--boundary` (optionally `--boundary--` for the last one, with
optional trailing spaces or tabs) preceded by CRLF, except that the very first one may open the
body. Part content ends right before the CRLF that precedes the next delimiter. Bodies written
with bare LF line ends are accepted too (detected from the first delimiter line): some clients
build them by hand. Everything before the first delimiter (preamble) and after the last one
(epilogue) is ignored. Searches use `bytes.find`, so multi-megabyte bodies cost a few C scans.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from learnproof_lrs.domain.errors import BadRequest

HASH_HEADER = "x-experience-api-hash"
ENCODING_HEADER = "content-transfer-encoding"
CONTENT_TYPE_HEADER = "content-type"

# Header blocks are a few short lines; anything much larger is not a well-formed part.
_MAX_HEADER_BLOCK = 16 * 1024

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)\s*(?:;|$)', re.DOTALL)
_MEDIA_TYPE = re.compile(rf"\s*({_TOKEN}/{_TOKEN})\s*(?:;|$)")
_HEADER_NAME = re.compile(_TOKEN)


@dataclass(frozen=True, slots=True)
class Part:
    """One attachment part: its declared hash, its Content-Type (if sent) and its raw octets."""

    sha2: str
    content_type: str | None
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MultipartBody:
    """A parsed statements request: the JSON of the first part and the attachment parts after it."""

    statements: bytes
    parts: tuple[Part, ...]


def media_type(content_type: str | None) -> str:
    """The lower-cased `type/subtype` of a Content-Type value ('' when absent or malformed)."""
    if not content_type:
        return ""
    match = _MEDIA_TYPE.match(content_type)
    return match.group(1).lower() if match else ""


def content_type_params(content_type: str) -> dict[str, str]:
    """The parameters of a Content-Type value, names lower-cased, quoted strings unquoted."""
    semicolon = content_type.find(";")
    if semicolon < 0:
        return {}
    params: dict[str, str] = {}
    rest = content_type[semicolon + 1 :]
    pos = 0
    while pos < len(rest):
        if not rest[pos:].strip():
            break
        match = _PARAM.match(rest, pos)
        if match is None:
            raise BadRequest(f"malformed Content-Type parameters: {content_type!r}")
        name, value = match.group(1).lower(), match.group(2).strip()
        if value.startswith('"'):
            if len(value) < 2 or not value.endswith('"'):
                raise BadRequest(f"malformed quoted parameter in Content-Type: {content_type!r}")
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params.setdefault(name, value)
        pos = match.end()
    return params


def parse_multipart_mixed(body: bytes, content_type_header: str) -> MultipartBody:
    """Split a `multipart/mixed` statements request into its JSON part and attachment parts.

    Raises BadRequest when the Content-Type is not multipart/mixed or has no boundary, when the
    body has no delimiter or no closing delimiter, when a part's headers are malformed, when the
    first part is not `application/json`, or when a later part lacks `X-Experience-API-Hash` or
    declares a Content-Transfer-Encoding other than `binary`.
    """
    if media_type(content_type_header) != "multipart/mixed":
        raise BadRequest(f"expected a multipart/mixed Content-Type, got {content_type_header!r}")
    boundary = content_type_params(content_type_header).get("boundary", "")
    if not boundary:
        raise BadRequest("the multipart/mixed Content-Type has no boundary parameter")
    if not boundary.isascii() or any(c in boundary for c in "\r\n"):
        raise BadRequest("the multipart boundary must be ASCII on one line")
    newline, raw_parts = _split(body, b"--" + boundary.encode("ascii"))
    if not raw_parts:
        raise BadRequest("the multipart body has no statement part")
    first, *rest = (
        _headers_and_content(raw, number, newline) for number, raw in enumerate(raw_parts, 1)
    )
    first_headers, statements = first
    first_type = first_headers.get(CONTENT_TYPE_HEADER)
    if media_type(first_type) != "application/json":
        found = "no Content-Type" if first_type is None else f"Content-Type {first_type!r}"
        raise BadRequest(
            f"the first multipart part must hold the statements as application/json; it has {found}"
        )
    parts = tuple(_attachment_part(h, c, n) for n, (h, c) in enumerate(rest, 2))
    return MultipartBody(statements, parts)


def build_multipart_mixed(
    statement_json: bytes, attachments: Iterable[tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    """Frame a GET answer with attachments: `(body, Content-Type header value)`.

    `attachments` holds `(sha2, content_type, data)`; a sha2 met twice is sent once (Communication
    1.5.2.s2.b5). The boundary is random hex, checked to occur in no part, and is sent unquoted
    (`multipart/mixed; boundary=<hex>`), the form clients split on most naively.
    """
    unique: dict[str, tuple[str, str, bytes]] = {}
    for sha2, content_type, data in attachments:
        unique.setdefault(sha2.lower(), (sha2, content_type, data))
    for sha2, content_type, _ in unique.values():
        if _has_line_break(sha2) or _has_line_break(content_type):
            raise ValueError(f"attachment header with a line break: {sha2!r} {content_type!r}")
    contents = [statement_json, *(data for _, _, data in unique.values())]
    boundary = _fresh_boundary(contents)
    delimiter = b"--" + boundary.encode("ascii")
    chunks = [delimiter, b"\r\nContent-Type: application/json\r\n\r\n", statement_json]
    for sha2, content_type, data in unique.values():
        chunks += [
            b"\r\n",
            delimiter,
            f"\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {sha2}\r\n\r\n".encode("latin-1"),
            data,
        ]
    chunks += [b"\r\n", delimiter, b"--\r\n"]
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


def _has_line_break(value: str) -> bool:
    return "\r" in value or "\n" in value


def _fresh_boundary(contents: Sequence[bytes]) -> str:
    while True:
        boundary = "lrs-" + secrets.token_hex(16)
        needle = boundary.encode("ascii")
        if all(needle not in content for content in contents):
            return boundary


def _split(body: bytes, dash_boundary: bytes) -> tuple[bytes, list[bytes]]:
    """The body's line ending and its raw parts (headers and content each), preamble dropped."""
    first = _first_delimiter(body, dash_boundary)
    if first is None:
        raise BadRequest("the multipart body contains no boundary delimiter line")
    newline, after, closed = first
    parts: list[bytes] = []
    while not closed:
        found = _next_delimiter(body, newline + dash_boundary, after, newline)
        if found is None:
            raise BadRequest("the multipart body is not terminated by a closing boundary delimiter")
        start, next_after, closed = found
        parts.append(body[after:start])
        after = next_after
    return newline, parts


def _first_delimiter(body: bytes, dash_boundary: bytes) -> tuple[bytes, int, bool] | None:
    """(line ending, end of the delimiter line, is-close) for the first delimiter of the body."""
    pos = 0
    while pos <= len(body):
        if pos == 0 and body.startswith(dash_boundary):
            at = 0
        else:
            found = body.find(b"\n" + dash_boundary, pos)
            if found < 0:
                return None
            at = found + 1
        line_end = _delimiter_line_end(body, at + len(dash_boundary))
        if line_end is not None:
            newline, after, closed = line_end
            return newline, after, closed
        pos = at + 1
    return None


def _next_delimiter(
    body: bytes, needle: bytes, pos: int, newline: bytes
) -> tuple[int, int, bool] | None:
    """(start of the CRLF before it, end of the delimiter line, is-close) for the next delimiter."""
    while True:
        found = body.find(needle, pos)
        if found < 0:
            return None
        line_end = _delimiter_line_end(body, found + len(needle))
        if line_end is not None and (line_end[0] == newline or line_end[0] == b""):
            return found, line_end[1], line_end[2]
        pos = found + 1


def _delimiter_line_end(body: bytes, pos: int) -> tuple[bytes, int, bool] | None:
    """What ends a delimiter line whose boundary ends at pos: (newline, end, is-close) or None.

    None means the boundary is only the prefix of a longer line, which is not a delimiter.
    A close delimiter may end the body without a line break (newline b"").
    """
    closed = body.startswith(b"--", pos)
    if closed:
        pos += 2
    end = len(body)
    while pos < end and body[pos] in b" \t":
        pos += 1
    if body.startswith(b"\r\n", pos):
        return b"\r\n", pos + 2, closed
    if body.startswith(b"\n", pos):
        return b"\n", pos + 1, closed
    if closed and pos == end:
        return b"", pos, True
    return None


def _headers_and_content(raw: bytes, number: int, newline: bytes) -> tuple[dict[str, str], bytes]:
    """Split one raw part into its headers (lower-cased names) and its content."""
    if not newline:  # the body is a lone close delimiter: no part reaches here
        newline = b"\r\n"
    if raw.startswith(newline):
        return {}, raw[len(newline) :]
    separator = newline + newline
    end = raw.find(separator, 0, _MAX_HEADER_BLOCK + len(separator))
    if end < 0:
        raise BadRequest(f"multipart part {number}: its headers are not followed by an empty line")
    block, content = raw[:end], raw[end + len(separator) :]
    return _parse_headers(block.decode("latin-1"), number), content


def _parse_headers(block: str, number: int) -> dict[str, str]:
    headers: dict[str, str] = {}
    lines: list[str] = []
    for line in block.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()  # obsolete line folding (RFC 5322 2.2.3)
        else:
            lines.append(line)
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _HEADER_NAME.fullmatch(name):
            raise BadRequest(f"multipart part {number}: malformed header line {line[:80]!r}")
        key, value = name.lower(), value.strip()
        if key in headers and headers[key] != value:
            raise BadRequest(f"multipart part {number}: header {name} repeated with another value")
        headers[key] = value
    return headers


def _attachment_part(headers: dict[str, str], content: bytes, number: int) -> Part:
    sha2 = headers.get(HASH_HEADER)
    if not sha2:
        raise BadRequest(f"multipart part {number} has no X-Experience-API-Hash header")
    encoding = headers.get(ENCODING_HEADER)
    if encoding is not None and encoding.lower() != "binary":
        raise BadRequest(
            f"multipart part {number} has Content-Transfer-Encoding {encoding!r}; "
            "attachment parts must be sent as binary"
        )
    content_type = headers.get(CONTENT_TYPE_HEADER)
    return Part(sha2=sha2, content_type=content_type, data=content, headers=headers)
