"""Binding statements' attachment objects to the parts that carry their octets (Data 2.4.11).

Rules (xAPI Communication 1.5.2 for 1.0.3, 4.1.3 for 2.0; ADL conformance XAPI-00128/129/132):

- Every part after the first names its octets' SHA-2 in `X-Experience-API-Hash`; that value must
  be a SHA-224/256/384/512 hex digest (chosen by its length) equal to the digest of the part's
  octets, else 400.
- Every part must be referenced: some attachment of some statement in the request (or of a
  SubStatement's) declares its hash as `sha2`, else 400 ("excess multi-part sections").
- Every attachment without a `fileUrl` needs a part with its `sha2`, else 400. An
  `application/json` request has no parts, so there every attachment needs a `fileUrl`.
- A signature attachment (usageType `http://adlnet.gov/expapi/attachments/signature`) must have
  contentType `application/octet-stream` and a part (even with a `fileUrl`), and that part, if it
  has a Content-Type header, must say `application/octet-stream` too (Data 2.6, XAPI-00115).

Matching is by hash only, as the spec requires (1.5.2.s1.b4), case-insensitively on the hex.
The `length` property is not checked against the part: it is the client's declaration, and the
conformance suite itself sends parts whose length differs from it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from learnproof_lrs.domain.errors import BadRequest
from learnproof_lrs.domain.multipart import Part, media_type

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_CONTENT_TYPE = "application/octet-stream"

_DIGESTS: dict[int, tuple[str, Callable[[bytes], Any]]] = {
    56: ("SHA-224", hashlib.sha224),
    64: ("SHA-256", hashlib.sha256),
    96: ("SHA-384", hashlib.sha384),
    128: ("SHA-512", hashlib.sha512),
}
_HEX = re.compile(r"[0-9a-f]+")


def match_attachments(
    statements: Sequence[Mapping[str, Any]], parts: Sequence[Part]
) -> dict[str, Part]:
    """Check the parts against the statements' attachments; map each matched `sha2` to its part.

    The keys are the `sha2` strings exactly as the statements spell them, so a caller can look a
    statement's attachment up with `result[attachment["sha2"]]`; attachments with a `fileUrl` and
    no part are absent. Raises BadRequest (message naming the statement and attachment) for any
    broken rule listed in the module docstring.
    """
    by_hash: dict[str, Part] = {}
    for number, part in enumerate(parts, 2):
        verify_part_hash(part, number)
        by_hash.setdefault(part.sha2.strip().lower(), part)

    declared = list(_declared_attachments(statements, many=len(statements) > 1))
    referenced = {a["sha2"].lower() for _, a in declared if isinstance(a.get("sha2"), str)}
    for number, part in enumerate(parts, 2):
        if part.sha2.strip().lower() not in referenced:
            raise BadRequest(
                f"multipart part {number} (X-Experience-API-Hash {part.sha2}) is not the sha2 of "
                "any attachment in the statements"
            )

    matched: dict[str, Part] = {}
    for where, attachment in declared:
        sha2 = attachment.get("sha2")
        found = by_hash.get(sha2.lower()) if isinstance(sha2, str) else None
        signature = attachment.get("usageType") == SIGNATURE_USAGE
        if signature:
            _check_signature_attachment(where, attachment, found)
        if found is None:
            if "fileUrl" in attachment and not signature:
                continue
            raise BadRequest(
                f"{where}: no multipart part carries the attachment with sha2 {sha2!r}; send "
                "its octets as a multipart/mixed part with that X-Experience-API-Hash, or give "
                "a fileUrl"
            )
        if isinstance(sha2, str):
            matched[sha2] = found
    return matched


def verify_part_hash(part: Part, number: int) -> None:
    """Check that a part's X-Experience-API-Hash is the SHA-2 digest of its octets."""
    declared = part.sha2.strip().lower()
    algorithm = _DIGESTS.get(len(declared))
    if algorithm is None or not _HEX.fullmatch(declared):
        raise BadRequest(
            f"multipart part {number}: X-Experience-API-Hash {part.sha2!r} is not a hex "
            "SHA-224, SHA-256, SHA-384 or SHA-512 digest"
        )
    name, digest = algorithm
    if digest(part.data).hexdigest() != declared:
        raise BadRequest(
            f"multipart part {number}: X-Experience-API-Hash {part.sha2} is not the {name} of "
            "the part's content"
        )


def _declared_attachments(
    statements: Sequence[Mapping[str, Any]], *, many: bool
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, attachment) for each attachment object of the statements and their SubStatements."""
    for index, statement in enumerate(statements):
        if not isinstance(statement, Mapping):
            continue
        prefix = f"statements[{index}]." if many else ""
        yield from _attachments_of(statement, f"{prefix}attachments")
        obj = statement.get("object")
        if isinstance(obj, Mapping) and obj.get("objectType") == "SubStatement":
            yield from _attachments_of(obj, f"{prefix}object.attachments")


def _attachments_of(
    statement: Mapping[str, Any], path: str
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    attachments = statement.get("attachments")
    if not isinstance(attachments, list):
        return
    for position, attachment in enumerate(attachments):
        if isinstance(attachment, Mapping):
            yield f"{path}[{position}]", attachment


def _check_signature_attachment(
    where: str, attachment: Mapping[str, Any], part: Part | None
) -> None:
    declared = attachment.get("contentType")
    if media_type(declared if isinstance(declared, str) else None) != SIGNATURE_CONTENT_TYPE:
        raise BadRequest(
            f"{where}: a signature attachment must have contentType {SIGNATURE_CONTENT_TYPE}, "
            f"not {declared!r}"
        )
    if part is None:
        raise BadRequest(
            f"{where}: the signature attachment's JWS must be sent as a multipart/mixed part"
        )
    if part.content_type is not None and media_type(part.content_type) != SIGNATURE_CONTENT_TYPE:
        raise BadRequest(
            f"{where}: the part carrying the signature has Content-Type {part.content_type!r}; "
            f"it must be {SIGNATURE_CONTENT_TYPE}"
        )
