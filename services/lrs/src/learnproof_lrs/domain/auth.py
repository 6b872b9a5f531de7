"""Credentials, scopes and the authority a credential stamps on what it writes (no I/O)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

from learnproof_lrs.domain.errors import BadRequest, Forbidden

ALL_SCOPES = frozenset(
    {
        "statements/write",
        "statements/read",
        "statements/read/mine",
        "all/read",
        "all",
        "state",
        "define",
        "profile",
    }
)

# scrypt: with N=2**14 a check costs ~16 MiB and over 100 ms, so a leaked table is costly to
# brute-force; the in-process cache (service layer) keeps the hot path off the KDF.
DEFAULT_LOG2_N = 14
_R, _P = 8, 1


def hash_secret(secret: str, log2_n: int = DEFAULT_LOG2_N) -> str:
    """A salted scrypt hash of a credential secret, self-describing (cost stored with it)."""
    salt = os.urandom(16)
    n = 2**log2_n
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=_R, p=_P, dklen=32)
    encoded_salt = base64.b64encode(salt).decode()
    return f"scrypt${n}${_R}${_P}${encoded_salt}${base64.b64encode(digest).decode()}"


def verify_secret(secret: str, hashed: str) -> bool:
    """Constant-time check of a secret against `hash_secret` output."""
    try:
        scheme, n, r, p, salt, digest = hashed.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        secret.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=32,
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def check_scopes(scopes: list[str] | frozenset[str]) -> frozenset[str]:
    """Validate a scope list when a credential is created."""
    unknown = set(scopes) - ALL_SCOPES
    if unknown:
        raise BadRequest(f"unknown scopes: {', '.join(sorted(unknown))}")
    return frozenset(scopes)


def authority_for(key: str, name: str, home_page: str) -> dict[str, Any]:
    """The Agent the LRS writes as `authority` for statements sent with this credential."""
    return {"objectType": "Agent", "name": name, "account": {"homePage": home_page, "name": key}}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the credential, its store (tenant), its scopes and its authority."""

    key: str
    store_id: str
    scopes: frozenset[str]
    authority: dict[str, Any]

    def has_any(self, *scopes: str) -> bool:
        return "all" in self.scopes or any(s in self.scopes for s in scopes)

    def require_statement_write(self) -> None:
        if not self.has_any("statements/write"):
            raise Forbidden("this credential may not write statements (scope statements/write)")

    def statement_read_mode(self) -> str:
        """'all' to read every statement of the store, 'mine' for its own only."""
        if self.has_any("statements/read", "all/read"):
            return "all"
        if "statements/read/mine" in self.scopes:
            return "mine"
        raise Forbidden("this credential may not read statements (scope statements/read)")

    def require_state(self, write: bool) -> None:
        if not (self.has_any("state") or (not write and "all/read" in self.scopes)):
            raise Forbidden("this credential may not use the State resource (scope state)")

    def require_profile(self, write: bool) -> None:
        if not (self.has_any("profile") or (not write and "all/read" in self.scopes)):
            raise Forbidden("this credential may not use profile resources (scope profile)")

    def may_define(self) -> bool:
        return self.has_any("define")
