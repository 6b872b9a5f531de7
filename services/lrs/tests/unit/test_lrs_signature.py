"""Signed statements: JWS checks and payload matching (xAPI Data 2.6, 2.0 4.2.6)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import random
import re
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from joserfc import jws
from joserfc.jwk import OctKey, RSAKey

from learnproof_lrs.domain.attachments import match_attachments
from learnproof_lrs.domain.errors import BadRequest
from learnproof_lrs.domain.multipart import Part, parse_multipart_mixed
from learnproof_lrs.domain.signature import (
    decode_compact_jws,
    verify_jws_signature,
    verify_signed_statement,
    verify_statement_jws,
)
from learnproof_lrs.domain.versions import V103, V200

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
STATEMENT: dict[str, Any] = {
    "id": "33cff416-e331-4c9d-969e-5373a1756120",
    "actor": {
        "objectType": "Agent",
        "name": "Example Learner",
        "mbox": "mailto:learner@example.com",
    },
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/experienced",
        "display": {"en-US": "experienced"},
    },
    "object": {"id": "http://example.com/video", "definition": {"name": {"en-US": "A video"}}},
    "result": {"duration": "PT1M0.12S"},
    "timestamp": "2024-04-01T12:00:00Z",
}

# xAPI 1.0.3 Data, Appendix D: the spec's example JWS (RS256, x5c chain of two SHA-1 certificates).
SPEC_EXAMPLE_JWS = (
    "ew0KICAgICJhbGciOiAiUlMyNTYiLA0KICAgICJ4NWMiOiBbDQogICAgICAgICJNSUlEQVRDQ0FtcWdBd0lCQWdJSk"
    "FNQjFjc051QTYra01BMEdDU3FHU0liM0RRRUJCUVVBTUhFeEN6QUpCZ05WQkFZVEFsVlRNUkl3RUFZRFZRUUlFd2xV"
    "Wlc1dVpYTnpaV1V4R0RBV0JnTlZCQW9URDBWNFlXMXdiR1VnUTI5dGNHRnVlVEVRTUE0R0ExVUVBeE1IUlhoaGJYQn"
    "NaVEVpTUNBR0NTcUdTSWIzRFFFSkFSWVRaWGhoYlhCc1pVQmxlR0Z0Y0d4bExtTnZiVEFlRncweE16QTBNRFF4TlRJ"
    "NE16QmFGdzB4TkRBME1EUXhOVEk0TXpCYU1JR1dNUXN3Q1FZRFZRUUdFd0pWVXpFU01CQUdBMVVFQ0JNSlZHVnVibV"
    "Z6YzJWbE1SRXdEd1lEVlFRSEV3aEdjbUZ1YTJ4cGJqRVlNQllHQTFVRUNoTVBSWGhoYlhCc1pTQkRiMjF3WVc1NU1S"
    "QXdEZ1lEVlFRTEV3ZEZlR0Z0Y0d4bE1SQXdEZ1lEVlFRREV3ZEZlR0Z0Y0d4bE1TSXdJQVlKS29aSWh2Y05BUWtCRm"
    "hObGVHRnRjR3hsUUdWNFlXMXdiR1V1WTI5dE1JR2ZNQTBHQ1NxR1NJYjNEUUVCQVFVQUE0R05BRENCaVFLQmdRRGp4"
    "dlpYRjMwV0w0b0tqWllYZ1IwWnlhWCt1M3k2K0pxVHFpTmtGYS9WVG5ldDZMeTJPVDZabW1jSkVQbnEzVW5ld3BIb0"
    "9RK0dmaGhUa1cxM2owNmo1aU5uNG9iY0NWV1RMOXlYTnZKSCtLbyt4dTRZbC95U1BScklQeVRqdEhkRzBNMlh6SWxt"
    "bUxxbStDQVMrS0NiSmVINHRmNTQza0lXQzVwQzVwM2NWUUlEQVFBQm8zc3dlVEFKQmdOVkhSTUVBakFBTUN3R0NXQ0"
    "dTQUdHK0VJQkRRUWZGaDFQY0dWdVUxTk1JRWRsYm1WeVlYUmxaQ0JEWlhKMGFXWnBZMkYwWlRBZEJnTlZIUTRFRmdR"
    "VVZzM3Y1YWZFZE9lb1llVmFqQVFFNHYwV1MxUXdId1lEVlIwakJCZ3dGb0FVeVZJYzN5dnJhNEVCejIwSTRCRjM5SU"
    "FpeEJrd0RRWUpLb1pJaHZjTkFRRUZCUUFEZ1lFQWdTL0ZGNUQwSG5qNDRydlQ2a2duM2tKQXZ2MmxqL2Z5anp0S0ly"
    "WVMzM2xqWEduNmdHeUE0cXRiWEEyM1ByTzR1Yy93WUNTRElDRHBQb2JoNjJ4VENkOXFPYktoZ3dXT2kwNVBTQkxxVX"
    "UzbXdmQWUxNUxKQkpCcVBWWjRLMGtwcGVQQlU4bTZhSVpvSDU3TC85dDRPb2FMOHlLcy9xaktGZUkxT0ZXWnh2QT0i"
    "LA0KICAgICAgICAiTUlJRE56Q0NBcUNnQXdJQkFnSUpBTUIxY3NOdUE2K2pNQTBHQ1NxR1NJYjNEUUVCQlFVQU1IRX"
    "hDekFKQmdOVkJBWVRBbFZUTVJJd0VBWURWUVFJRXdsVVpXNXVaWE56WldVeEdEQVdCZ05WQkFvVEQwVjRZVzF3YkdV"
    "Z1EyOXRjR0Z1ZVRFUU1BNEdBMVVFQXhNSFJYaGhiWEJzWlRFaU1DQUdDU3FHU0liM0RRRUpBUllUWlhoaGJYQnNaVU"
    "JsZUdGdGNHeGxMbU52YlRBZUZ3MHhNekEwTURReE5USTFOVE5hRncweU16QTBNREl4TlRJMU5UTmFNSEV4Q3pBSkJn"
    "TlZCQVlUQWxWVE1SSXdFQVlEVlFRSUV3bFVaVzV1WlhOelpXVXhHREFXQmdOVkJBb1REMFY0WVcxd2JHVWdRMjl0Y0"
    "dGdWVURVFNQTRHQTFVRUF4TUhSWGhoYlhCc1pURWlNQ0FHQ1NxR1NJYjNEUUVKQVJZVFpYaGhiWEJzWlVCbGVHRnRj"
    "R3hsTG1OdmJUQ0JuekFOQmdrcWhraUc5dzBCQVFFRkFBT0JqUUF3Z1lrQ2dZRUExc0JuQldQWjBmN1dKVUZUSnk1Kz"
    "AxU2xTNVo2RERENlV5ZTl2SzlBeWNnVjVCMytXQzhIQzV1NWg5MU11akFDMUFSUFZVT3RzdlBSczQ1cUtORklnSUdS"
    "WEtQQXdaamF3RUkyc0NKUlNLVjQ3aTZCOGJEdjRXa3VHdlFhdmVaR0kwcWxtTjVSMUVpbTJnVUl0UmoxaGdjQzlyUW"
    "F2amxuRktEWTJybFhHdWtDQXdFQUFhT0IxakNCMHpBZEJnTlZIUTRFRmdRVXlWSWMzeXZyYTRFQnoyMEk0QkYzOUlB"
    "aXhCa3dnYU1HQTFVZEl3U0JtekNCbUlBVXlWSWMzeXZyYTRFQnoyMEk0QkYzOUlBaXhCbWhkYVJ6TUhFeEN6QUpCZ0"
    "5WQkFZVEFsVlRNUkl3RUFZRFZRUUlFd2xVWlc1dVpYTnpaV1V4R0RBV0JnTlZCQW9URDBWNFlXMXdiR1VnUTI5dGNH"
    "RnVlVEVRTUE0R0ExVUVBeE1IUlhoaGJYQnNaVEVpTUNBR0NTcUdTSWIzRFFFSkFSWVRaWGhoYlhCc1pVQmxlR0Z0Y0"
    "d4bExtTnZiWUlKQU1CMWNzTnVBNitqTUF3R0ExVWRFd1FGTUFNQkFmOHdEUVlKS29aSWh2Y05BUUVGQlFBRGdZRUFE"
    "aHdUZWJHazczNXlLaG04RHFDeHZObkVaME54c1lFWU9qZ1JHMXlYVGxXNXBFNjkxZlNINUFaK1Q2ZnB3cFpjV1k1UV"
    "lrb042RG53ak94R2tTZlFDMy95R21jVURLQlB3aVo1TzJzOUMrZkUxa1VFbnJYMlhlYTRhZ1ZuZ016UjhEUTZvT2F1"
    "TFdxZWhEQitnMkVOV1JMb1ZnUyttYTUvWWNzMEdUeXJFQ1k9Ig0KICAgIF0NCn0.ew0KICAgICJ2ZXJzaW9uIjogIj"
    "EuMC4wIiwNCiAgICAiaWQiOiAiMzNjZmY0MTYtZTMzMS00YzlkLTk2OWUtNTM3M2ExNzU2MTIwIiwNCiAgICAiYWN0"
    "b3IiOiB7DQogICAgICAgICJtYm94IjogIm1haWx0bzpleGFtcGxlQGV4YW1wbGUuY29tIiwNCiAgICAgICAgIm5hbW"
    "UiOiAiRXhhbXBsZSBMZWFybmVyIiwNCiAgICAgICAgIm9iamVjdFR5cGUiOiAiQWdlbnQiDQogICAgfSwNCiAgICAi"
    "dmVyYiI6IHsNCiAgICAgICAgImlkIjogImh0dHA6Ly9hZGxuZXQuZ292L2V4cGFwaS92ZXJicy9leHBlcmllbmNlZC"
    "IsDQogICAgICAgICJkaXNwbGF5Ijogew0KICAgICAgICAgICAgImVuLVVTIjogImV4cGVyaWVuY2VkIg0KICAgICAg"
    "ICB9DQogICAgfSwNCiAgICAib2JqZWN0Ijogew0KICAgICAgICAiaWQiOiAiaHR0cHM6Ly93d3cueW91dHViZS5jb2"
    "0vd2F0Y2g_dj14aDRrSWlIM1NtOCIsDQogICAgICAgICJvYmplY3RUeXBlIjogIkFjdGl2aXR5IiwNCiAgICAgICAg"
    "ImRlZmluaXRpb24iOiB7DQogICAgICAgICAgICAibmFtZSI6IHsNCiAgICAgICAgICAgICAgICAiZW4tVVMiOiAiVG"
    "F4IFRpcHMgJiBJbmZvcm1hdGlvbiA6IEhvdyB0byBGaWxlIGEgVGF4IFJldHVybiAiDQogICAgICAgICAgICB9LA0K"
    "ICAgICAgICAgICAgImRlc2NyaXB0aW9uIjogew0KICAgICAgICAgICAgICAgICJlbi1VUyI6ICJGaWxpbmcgYSB0YX"
    "ggcmV0dXJuIHdpbGwgcmVxdWlyZSBmaWxsaW5nIG91dCBlaXRoZXIgYSAxMDQwLCAxMDQwQSBvciAxMDQwRVogZm9y"
    "bSINCiAgICAgICAgICAgIH0NCiAgICAgICAgfQ0KICAgIH0sDQogICAgInRpbWVzdGFtcCI6ICIyMDEzLTA0LTAxVD"
    "EyOjAwOjAwWiINCn0.FWuwaPhwUbkk7h9sKW5zSvjsYNugvxJ-TrVaEgt_DCUT0bmKhQScRrjMB6P9O50uznPwT66o"
    "F1NnU_G0HVhRzS5voiXE-y7tT3z0M3-8A6YK009Bk_digVUul-HA4Fpd5IjoBBGe3yzaQ2ZvzarvRuipvNEQCI0onp"
    "fuZZJQ0d8"
)


# --- keys and certificates made for the test ----------------------------------------------------


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool = False
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _x5c(*certificates: x509.Certificate) -> list[str]:
    return [
        base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in certificates
    ]


class Keys:
    """One signer with a self-signed certificate, a CA chain for it, and an unrelated key."""

    def __init__(self) -> None:
        self._jwks: dict[int, RSAKey] = {}
        self.signer = _rsa_key()
        self.other = _rsa_key()
        ca_key = _rsa_key()
        self.self_signed = _certificate("Signer", self.signer, "Signer", self.signer)
        self.ca = _certificate("Example CA", ca_key, "Example CA", ca_key, ca=True)
        self.issued = _certificate("Signer", self.signer, "Example CA", ca_key)
        self.other_ca = _certificate("Example CA", self.other, "Example CA", self.other, ca=True)
        self.other_cert = _certificate("Other", self.other, "Other", self.other)
        ec_key = ec.generate_private_key(ec.SECP256R1())
        self.ec_cert = _certificate("EC", ec_key, "EC", ec_key)

    def jwk(self, key: rsa.RSAPrivateKey) -> RSAKey:
        if id(key) in self._jwks:
            return self._jwks[id(key)]
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        imported = RSAKey.import_key(pem)
        self._jwks[id(key)] = imported
        return imported


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def sign(
    payload: Any, key: RSAKey | OctKey, header: dict[str, Any] | None = None, alg: str = "RS256"
) -> bytes:
    """A compact JWS made by joserfc (an independent implementation of RFC 7515)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    protected = {"alg": alg, **(header or {})}
    return jws.serialize_compact(protected, raw, key, algorithms=[alg]).encode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], payload: bytes, signature: bytes = b"sig") -> bytes:
    return f"{b64url(json.dumps(header).encode())}.{b64url(payload)}.{b64url(signature)}".encode()


def received(statement: dict[str, Any], token: bytes) -> dict[str, Any]:
    """The statement as posted: the signed one plus its signature attachment."""
    posted = copy.deepcopy(statement)
    posted.setdefault("attachments", []).append(
        {
            "usageType": SIGNATURE_USAGE,
            "display": {"en-US": "Signed by the test"},
            "contentType": "application/octet-stream",
            "length": len(token),
            "sha2": hashlib.sha256(token).hexdigest(),
        }
    )
    return posted


# --- accepted -------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_each_rsa_sha2_algorithm_is_accepted_without_certificate(keys: Keys, alg: str) -> None:
    token = sign(STATEMENT, keys.jwk(keys.signer), alg=alg)
    verify_statement_jws(token, received(STATEMENT, token))


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_signature_verifies_against_a_self_signed_x5c(keys: Keys, alg: str) -> None:
    token = sign(STATEMENT, keys.jwk(keys.signer), {"x5c": _x5c(keys.self_signed)}, alg)
    verify_statement_jws(token, received(STATEMENT, token))


def test_signature_verifies_against_an_x5c_chain(keys: Keys) -> None:
    token = sign(STATEMENT, keys.jwk(keys.signer), {"x5c": _x5c(keys.issued, keys.ca)})
    verify_jws_signature(decode_compact_jws(token))


def test_signature_verifies_against_a_jwk_header(keys: Keys) -> None:
    public = keys.jwk(keys.signer).as_dict(private=False)
    token = sign(STATEMENT, keys.jwk(keys.signer), {"jwk": public})
    verify_jws_signature(decode_compact_jws(token))


def test_the_spec_example_signature_verifies_with_its_certificate_chain() -> None:
    token = SPEC_EXAMPLE_JWS.encode()
    decoded = decode_compact_jws(token)
    assert decoded.algorithm == "RS256"
    assert len(decoded.header["x5c"]) == 2
    verify_jws_signature(decoded)
    # The LRS-assigned properties the posted copy may carry do not count (Data 2.3.1.b1).
    posted = received(decoded.payload, token)
    posted |= {"stored": "2024-01-01T00:00:00Z", "authority": {"mbox": "mailto:lrs@x.com"}}
    posted["timestamp"] = "2013-04-01T14:00:00.000+02:00"
    verify_statement_jws(token, posted)


def test_trailing_whitespace_around_the_token_is_ignored(keys: Keys) -> None:
    token = sign(STATEMENT, keys.jwk(keys.signer))
    verify_statement_jws(b"  " + token + b"\r\n", received(STATEMENT, token))


def test_2_0_compares_durations_to_the_hundredth_only(keys: Keys) -> None:
    signed = {**STATEMENT, "result": {"duration": "P1DT12H36M0.12S"}}
    posted = {**STATEMENT, "result": {"duration": "P1DT12H36M0.1237S"}}
    token = sign(signed, keys.jwk(keys.signer), {"x5c": _x5c(keys.self_signed)})
    verify_statement_jws(token, received(posted, token), version=V200)
    with pytest.raises(BadRequest, match="signed and the received statements differ"):
        verify_statement_jws(token, received(posted, token), version=V103)


def test_unsigned_statements_pass_through(keys: Keys) -> None:
    verify_signed_statement(STATEMENT, {})
    with_photo = {**STATEMENT, "attachments": [{"usageType": "http://e.com/photo", "sha2": "ab"}]}
    verify_signed_statement(with_photo, {})


def test_signed_statement_finds_its_part_by_sha2_in_any_case(keys: Keys) -> None:
    token = sign(STATEMENT, keys.jwk(keys.signer))
    posted = received(STATEMENT, token)
    sha = posted["attachments"][0]["sha2"]
    part = Part(sha2=sha.upper(), content_type="application/octet-stream", data=token)
    verify_signed_statement(posted, {sha.upper(): part})


# --- rejected -------------------------------------------------------------------------------


def _cases(keys: Keys) -> dict[str, tuple[bytes, dict[str, Any], str]]:
    signer = keys.jwk(keys.signer)
    good = sign(STATEMENT, signer)
    header_b64, payload_b64, signature_b64 = good.decode().split(".")
    with_x5c = sign(STATEMENT, signer, {"x5c": _x5c(keys.self_signed)}).decode()
    x5c_header_b64, _, x5c_signature_b64 = with_x5c.split(".")
    tampered_payload = b64url(
        json.dumps({**STATEMENT, "verb": {"id": "http://e.com/failed"}}).encode()
    )
    other_payload = {**STATEMENT, "actor": {"mbox": "mailto:mallory@example.com"}}
    # The ADL suite's "breakJson": the payload's first '"' replaced by "'".
    broken_json = json.dumps(STATEMENT).replace('"', "'", 1).encode()
    return {
        "HS256": (
            sign(STATEMENT, OctKey.generate_key(256), alg="HS256"),
            STATEMENT,
            "alg 'HS256' is not allowed",
        ),
        "PS256": (sign(STATEMENT, signer, alg="PS256"), STATEMENT, "alg 'PS256' is not allowed"),
        "alg none": (
            forged({"alg": "none"}, json.dumps(STATEMENT).encode()),
            STATEMENT,
            "alg 'none' is not allowed",
        ),
        "no alg": (
            forged({"typ": "JWT"}, json.dumps(STATEMENT).encode()),
            STATEMENT,
            "alg None is not allowed",
        ),
        "payload not JSON (suite breakJson)": (
            sign(broken_json, signer),
            STATEMENT,
            "payload is not valid JSON",
        ),
        "payload a JSON array": (
            sign([STATEMENT], signer),
            STATEMENT,
            "payload is not a JSON object",
        ),
        "payload with NaN": (sign(b'{"a": NaN}', signer), STATEMENT, "payload is not valid JSON"),
        "two segments": (
            f"{header_b64}.{payload_b64}".encode(),
            STATEMENT,
            "2 dot-separated segments",
        ),
        "JSON serialization": (
            json.dumps({"payload": payload_b64, "signature": signature_b64}).encode(),
            STATEMENT,
            "JSON Serialization",
        ),
        "header not base64url": (
            f"{header_b64}*.{payload_b64}.{signature_b64}".encode(),
            STATEMENT,
            "header is not base64url",
        ),
        "header not JSON": (
            f"{b64url(b'alg=RS256')}.{payload_b64}.{signature_b64}".encode(),
            STATEMENT,
            "header is not valid JSON",
        ),
        "non-ASCII token": (good + "é".encode(), STATEMENT, "non-ASCII"),
        "empty signature": (f"{header_b64}.{payload_b64}.".encode(), STATEMENT, "empty signature"),
        "critical extension": (
            forged({"alg": "RS256", "crit": ["exp"], "exp": 1}, json.dumps(STATEMENT).encode()),
            STATEMENT,
            "critical extensions",
        ),
        "payload differs, no key to verify": (
            sign(other_payload, signer),
            STATEMENT,
            "signed and the received statements differ",
        ),
        "payload tampered under x5c": (
            f"{x5c_header_b64}.{tampered_payload}.{x5c_signature_b64}".encode(),
            STATEMENT,
            "does not verify with the x5c certificate",
        ),
        "signed by another key than x5c's": (
            sign(STATEMENT, signer, {"x5c": _x5c(keys.other_cert)}),
            STATEMENT,
            "does not verify with the x5c certificate",
        ),
        "signed by another key than jwk's": (
            sign(STATEMENT, signer, {"jwk": keys.jwk(keys.other).as_dict(private=False)}),
            STATEMENT,
            "does not verify with the jwk header key",
        ),
        "x5c chain not issued by the next": (
            sign(STATEMENT, signer, {"x5c": _x5c(keys.issued, keys.other_ca)}),
            STATEMENT,
            "x5c[0] is not issued by x5c[1]",
        ),
        "x5c not base64": (
            sign(STATEMENT, signer, {"x5c": ["not base64!"]}),
            STATEMENT,
            "x5c[0] is not a base64 DER X.509 certificate",
        ),
        "x5c not DER": (
            sign(STATEMENT, signer, {"x5c": [base64.b64encode(b"junk").decode()]}),
            STATEMENT,
            "x5c[0] is not a base64 DER",
        ),
        "x5c empty": (sign(STATEMENT, signer, {"x5c": []}), STATEMENT, "non-empty array"),
        "x5c with an EC key": (
            sign(STATEMENT, signer, {"x5c": _x5c(keys.ec_cert)}),
            STATEMENT,
            "does not hold an RSA key",
        ),
        "jwk not RSA": (
            sign(STATEMENT, signer, {"jwk": {"kty": "EC"}}),
            STATEMENT,
            "jwk header is not an RSA key",
        ),
    }


CASE_NAMES = [
    "HS256",
    "PS256",
    "alg none",
    "no alg",
    "payload not JSON (suite breakJson)",
    "payload a JSON array",
    "payload with NaN",
    "two segments",
    "JSON serialization",
    "header not base64url",
    "header not JSON",
    "non-ASCII token",
    "empty signature",
    "critical extension",
    "payload differs, no key to verify",
    "payload tampered under x5c",
    "signed by another key than x5c's",
    "signed by another key than jwk's",
    "x5c chain not issued by the next",
    "x5c not base64",
    "x5c not DER",
    "x5c empty",
    "x5c with an EC key",
    "jwk not RSA",
]


@pytest.fixture(scope="module")
def cases(keys: Keys) -> dict[str, tuple[bytes, dict[str, Any], str]]:
    return _cases(keys)


def test_every_rejection_case_is_listed(cases: dict[str, Any]) -> None:
    assert sorted(cases) == sorted(CASE_NAMES)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_malformed_or_mismatched_signatures_are_400(
    cases: dict[str, tuple[bytes, dict[str, Any], str]], name: str
) -> None:
    token, statement, message = cases[name]
    with pytest.raises(BadRequest, match=re.escape(message)):
        verify_statement_jws(token, received(statement, token))


def test_rejection_through_the_statement_names_the_attachment(keys: Keys) -> None:
    token = sign(STATEMENT, OctKey.generate_key(256), alg="HS256")
    posted = received(
        {**STATEMENT, "attachments": [{"usageType": "http://e.com/p", "sha2": "a"}]}, token
    )
    part = Part(sha2=posted["attachments"][1]["sha2"], content_type=None, data=token)
    with pytest.raises(BadRequest, match=re.escape("attachments[1]: the JWS alg 'HS256'")):
        verify_signed_statement(posted, {part.sha2: part})


def test_signature_attachment_without_part_is_400(keys: Keys) -> None:
    token = sign(STATEMENT, keys.jwk(keys.signer))
    with pytest.raises(
        BadRequest, match=re.escape("attachments[0]: the signature attachment has no")
    ):
        verify_signed_statement(received(STATEMENT, token), {})


# --- the whole request path, as the ADL suite sends it ------------------------------------------


def suite_body(statement: dict[str, Any], token: bytes, content_type: str, boundary: str) -> bytes:
    posted = received(statement, token)
    posted["attachments"][-1]["contentType"] = content_type
    return b"".join(
        [
            f"\r\n--{boundary}\r\nContent-Type:application/json\r\n\r\n".encode(),
            json.dumps(posted).encode(),
            f"\r\n--{boundary}\r\nContent-Type:{content_type}\r\nContent-Transfer-Encoding:binary\r\n"
            f"X-Experience-API-Hash:{hashlib.sha256(token).hexdigest()}\r\n\r\n".encode(),
            token,
            f"\r\n--{boundary}--".encode(),
        ]
    )


def post(body: bytes, boundary: str, version: str = V200) -> None:
    parsed = parse_multipart_mixed(body, f"multipart/mixed; boundary={boundary}")
    statement = json.loads(parsed.statements)
    by_sha = match_attachments([statement], list(parsed.parts))
    verify_signed_statement(statement, by_sha, version=version)


@pytest.mark.parametrize("version", [V103, V200])
def test_suite_style_signed_post_is_accepted(keys: Keys, version: str) -> None:
    boundary = "-------------1234567"
    token = sign(STATEMENT, keys.jwk(keys.signer), alg="RS384")
    post(suite_body(STATEMENT, token, "application/octet-stream", boundary), boundary, version)


def test_suite_style_signature_with_text_content_type_is_rejected(keys: Keys) -> None:
    boundary = "-------------1234567"
    token = sign(STATEMENT, keys.jwk(keys.signer))
    with pytest.raises(BadRequest, match="must have contentType application/octet-stream"):
        post(suite_body(STATEMENT, token, "text/plain; charset=ascii", boundary), boundary)


def test_suite_style_duration_edit_in_the_statement_part_is_accepted_in_2_0(keys: Keys) -> None:
    boundary = "-------------__a-uuid__123__456"
    signed = {**STATEMENT, "result": {"duration": "P1DT12H36M0.12S"}}
    token = sign(signed, keys.jwk(keys.signer))
    body = suite_body(signed, token, "application/octet-stream", boundary)
    body = body.replace(b"P1DT12H36M0.12S", b"P1DT12H36M0.1237S", 1)
    post(body, boundary, V200)
    with pytest.raises(BadRequest, match="statements differ"):
        post(body, boundary, V103)


def test_every_truncation_and_random_corruption_of_a_token_is_accepted_or_a_400(
    keys: Keys,
) -> None:
    token = sign(STATEMENT, keys.jwk(keys.signer), {"x5c": _x5c(keys.self_signed)})
    posted = received(STATEMENT, token)
    rng = random.Random(7)
    candidates = [token[:cut] for cut in range(0, len(token) + 1, 7)]
    for _ in range(300):
        mutated = bytearray(token)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] = rng.choice(b".=-_A/+{}\x00\xff")
        candidates.append(bytes(mutated))
    rejected = 0
    for candidate in candidates:
        try:
            verify_statement_jws(candidate, posted)
        except BadRequest:
            rejected += 1
    assert rejected >= len(candidates) - 5  # a corrupted token almost never still verifies
