"""Signed statements: checking the JWS in a signature attachment (xAPI Data 2.6, 2.0 4.2.6).

What the LRS MUST do, in the spec's words: decode the JWS and load the signed serialization of
the statement from its payload; validate that this original statement is logically equivalent
to the received one (the statement comparison rules, see `equivalence.signed_payload_matches`);
if the JWS header includes an X.509 certificate, validate the signature against it; validate
that the signature requirements are met. Any failure is a malformed signature: 400.

Accepted: JWS Compact Serialization (the JSON serialization is strongly discouraged by 1.0.3 and
excluded by 2.0), `alg` RS256, RS384 or RS512 (anything else, HS256 and `none` included, is
rejected), no `crit` header (we implement no extension). The key comes from `x5c` when present:
the first certificate's RSA public key verifies the signature and each certificate must be
issued (name and signature) by the next one. Validity dates and trust anchors are not checked:
the spec says this step catches mistakes and is not a security measure. Without `x5c`, an RSA
`jwk` header key is used the same way; with neither there is nothing to verify against, and
only the structure and the payload are checked (as in the ADL suite, whose signatures carry no
certificate).

Implementation: `cryptography` directly rather than joserfc. The verification itself is one
PKCS#1 v1.5 call, while the parts around it are xAPI-specific: the algorithm and the key must be
chosen from the unverified header, certificates parsed and chained, and a token with no key at
all still accepted after its payload is checked; joserfc's JWS API wants the key up front and has
no x5c handling, so it would add indirection and no checks. (The tests sign with joserfc, so the
two implementations cross-check each other.)
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from learnproof_lrs.domain.attachments import SIGNATURE_USAGE
from learnproof_lrs.domain.equivalence import signed_payload_matches
from learnproof_lrs.domain.errors import BadRequest
from learnproof_lrs.domain.multipart import Part
from learnproof_lrs.domain.versions import V200

ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class CompactJws:
    """A decoded, not yet verified, JWS Compact Serialization with a JSON object payload."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def algorithm(self) -> str:
        return str(self.header["alg"])


def verify_signed_statement(
    statement: Mapping[str, Any], parts_by_sha2: Mapping[str, Part], *, version: str = V200
) -> None:
    """Check every signature attachment of a statement; no-op for an unsigned statement.

    `parts_by_sha2` is what `attachments.match_attachments` returned for the request; `version`
    is the request's xAPI version (it decides how result durations compare). Raises BadRequest
    naming the attachment when a signature is malformed, fails to verify or does not match.
    """
    attachments = statement.get("attachments")
    if not isinstance(attachments, list):
        return
    for position, attachment in enumerate(attachments):
        if not isinstance(attachment, Mapping) or attachment.get("usageType") != SIGNATURE_USAGE:
            continue
        where = f"attachments[{position}]"
        part = _part_for(attachment.get("sha2"), parts_by_sha2)
        if part is None:
            raise BadRequest(f"{where}: the signature attachment has no multipart part")
        try:
            verify_statement_jws(part.data, statement, version=version)
        except BadRequest as exc:
            raise BadRequest(f"{where}: {exc.message}") from exc


def verify_statement_jws(
    token: bytes, statement: Mapping[str, Any], *, version: str = V200
) -> None:
    """Decode a JWS, verify it when it names a key, and match its payload to the statement."""
    jws = decode_compact_jws(token)
    verify_jws_signature(jws)
    if not signed_payload_matches(jws.payload, statement, version=version):
        raise BadRequest(
            "the JWS payload is not the statement as it was before the signature was added "
            "(xAPI Data 2.6); the signed and the received statements differ"
        )


def decode_compact_jws(token: bytes) -> CompactJws:
    """Parse a JWS Compact Serialization whose payload is a JSON object (400 when it is not)."""
    try:
        text = token.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise BadRequest("the signature is not a JWS: it contains non-ASCII bytes") from exc
    if text.startswith("{"):
        raise BadRequest("the signature uses the JWS JSON Serialization; use the Compact one")
    segments = text.split(".")
    if len(segments) != 3:
        raise BadRequest(
            f"the signature is not a JWS Compact Serialization: {len(segments)} dot-separated "
            "segments instead of 3"
        )
    header_b64, payload_b64, signature_b64 = segments
    header = _json_object(_b64url(header_b64, "header"), "header")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise BadRequest(f"the JWS alg {alg!r} is not allowed; use RS256, RS384 or RS512")
    if "crit" in header:
        raise BadRequest(f"the JWS header lists critical extensions {header['crit']!r}")
    payload = _json_object(_b64url(payload_b64, "payload"), "payload")
    signature = _b64url(signature_b64, "signature")
    if not signature:
        raise BadRequest("the JWS has an empty signature")
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return CompactJws(header, payload, signing_input, signature)


def verify_jws_signature(jws: CompactJws) -> None:
    """Verify the signature with the `x5c` (else `jwk`) key of its header; no key: nothing to do."""
    if "x5c" in jws.header:
        key = _x5c_key(jws.header["x5c"])
        source = "the x5c certificate"
    elif "jwk" in jws.header:
        key = _jwk_key(jws.header["jwk"])
        source = "the jwk header key"
    else:
        return
    try:
        key.verify(
            jws.signature, jws.signing_input, padding.PKCS1v15(), ALGORITHMS[jws.algorithm]()
        )
    except InvalidSignature as exc:
        raise BadRequest(f"the JWS signature does not verify with {source}") from exc


def _part_for(sha2: object, parts_by_sha2: Mapping[str, Part]) -> Part | None:
    if not isinstance(sha2, str):
        return None
    part = parts_by_sha2.get(sha2)
    if part is None:
        wanted = sha2.lower()
        part = next((p for s, p in parts_by_sha2.items() if s.lower() == wanted), None)
    return part


def _b64url(segment: str, what: str) -> bytes:
    segment = segment.rstrip("=")
    if not _BASE64URL.fullmatch(segment):
        raise BadRequest(f"the JWS {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"the JWS {what} is not base64url") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the JWS {what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise BadRequest(f"the JWS {what} is not a JSON object")
    return value


def _x5c_key(chain: object) -> rsa.RSAPublicKey:
    if not isinstance(chain, list) or not chain or not all(isinstance(c, str) for c in chain):
        raise BadRequest("the JWS x5c header must be a non-empty array of base64 certificates")
    certificates: list[x509.Certificate] = []
    for position, encoded in enumerate(chain):
        try:
            der = base64.b64decode(encoded, validate=True)
            certificates.append(x509.load_der_x509_certificate(der))
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"x5c[{position}] is not a base64 DER X.509 certificate") from exc
    for position, (issued, issuer) in enumerate(itertools.pairwise(certificates)):
        if not _issued_by(issued, issuer):
            raise BadRequest(
                f"the x5c chain is broken: x5c[{position}] is not issued by x5c[{position + 1}]"
            )
    key = certificates[0].public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadRequest("the x5c certificate does not hold an RSA key, as RS256/384/512 need")
    return key


def _issued_by(issued: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` names and signed `issued`.

    RSA issuers are checked by hand because `verify_directly_issued_by` refuses SHA-1 signed
    certificates, which old chains (the spec's own example in Data Appendix D) still use.
    """
    if issued.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        algorithm = issued.signature_hash_algorithm
        scheme = issued.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            if not isinstance(scheme, padding.PKCS1v15 | padding.PSS):
                return False
            key.verify(issued.signature, issued.tbs_certificate_bytes, scheme, algorithm)
        else:
            issued.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _jwk_key(jwk: object) -> rsa.RSAPublicKey:
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
        raise BadRequest("the JWS jwk header is not an RSA key")
    n, e = jwk.get("n"), jwk.get("e")
    if not isinstance(n, str) or not isinstance(e, str):
        raise BadRequest("the JWS jwk header lacks the RSA n and e members")
    try:
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(_b64url(e, "jwk e"), "big"), int.from_bytes(_b64url(n, "jwk n"), "big")
        )
        return numbers.public_key()
    except ValueError as exc:
        raise BadRequest("the JWS jwk header is not a usable RSA public key") from exc
