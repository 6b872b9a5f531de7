"""Use cases for credentials: authenticate a request (with a cache), create, list, revoke."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from learnproof_lrs.adapters.db.engine import Database
from learnproof_lrs.adapters.db.statements_repo import CredentialRows
from learnproof_lrs.domain.auth import (
    ALL_SCOPES,
    DEFAULT_LOG2_N,
    Principal,
    authority_for,
    check_scopes,
    hash_secret,
    verify_secret,
)
from learnproof_lrs.domain.errors import Unauthorized
from learnproof_lrs.domain.statement import to_micros

AUTHORITY_HOME_PAGE = "https://learnproof.invalid/credentials"


@dataclass(slots=True)
class _Cached:
    digest: bytes  # sha256 of the secret that was verified with the KDF
    principal: Principal
    expires: float


class Authenticator:
    """Checks HTTP Basic credentials. The KDF runs once per key per cache period, in a thread.

    The cache holds a fast hash of the verified secret, so a wrong secret for a cached key
    still fails (compared in constant time) without paying the KDF again.
    """

    def __init__(self, db: Database, cache_seconds: float) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[str, _Cached] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        key, secret = _parse_basic(authorization)
        digest = hashlib.sha256(secret.encode()).digest()
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached.expires > now:
            if hmac.compare_digest(cached.digest, digest):
                return cached.principal
            raise Unauthorized("invalid credentials")
        async with self.db.read() as conn:
            row = await CredentialRows(conn).get(key)
        if row is None or row.revoked:
            raise Unauthorized("invalid credentials")
        ok = await asyncio.to_thread(verify_secret, secret, row.secret_hash)
        if not ok:
            raise Unauthorized("invalid credentials")
        principal = Principal(
            key=row.key,
            store_id=row.store_id,
            scopes=frozenset(row.scopes.split()),
            authority=authority_for(row.key, row.name, AUTHORITY_HOME_PAGE),
        )
        self._cache[key] = _Cached(digest, principal, now + self.cache_seconds)
        return principal

    def forget(self, key: str) -> None:
        self._cache.pop(key, None)


def _parse_basic(header: str | None) -> tuple[str, str]:
    if not header:
        raise Unauthorized("authentication required (HTTP Basic)")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized("authentication required (HTTP Basic)")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("malformed Basic credentials") from exc
    key, sep, secret = decoded.partition(":")
    if not sep:
        raise Unauthorized("malformed Basic credentials")
    return key, secret


async def create_credential(
    db: Database,
    *,
    store_id: str,
    name: str,
    scopes: list[str] | None = None,
    key: str | None = None,
    secret: str | None = None,
    kdf_log2_n: int = DEFAULT_LOG2_N,
) -> tuple[str, str]:
    """Create (or replace) a credential in a store, creating the store when new."""
    scope_set = check_scopes(scopes or sorted(ALL_SCOPES))
    key = key or secrets.token_urlsafe(18)
    secret = secret or secrets.token_urlsafe(32)
    hashed = await asyncio.to_thread(hash_secret, secret, kdf_log2_n)
    now_us = to_micros(datetime.now(UTC))
    async with db.write() as conn:
        rows = CredentialRows(conn)
        await rows.ensure_store(store_id, store_id, now_us)
        await rows.upsert(
            {
                "key": key,
                "store_id": store_id,
                "name": name,
                "secret_hash": hashed,
                "scopes": " ".join(sorted(scope_set)),
                "revoked": False,
                "created_us": now_us,
            }
        )
    return key, secret


async def list_credentials(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await CredentialRows(conn).all()
    return [
        {
            "key": r.key,
            "store": r.store_id,
            "name": r.name,
            "scopes": r.scopes.split(),
            "revoked": bool(r.revoked),
        }
        for r in rows
    ]


async def revoke_credential(db: Database, key: str) -> bool:
    async with db.write() as conn:
        return await CredentialRows(conn).revoke(key)


async def list_stores(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = CredentialRows(conn)
        stores = await rows.list_stores()
        credentials = await rows.all()
    active: dict[str, int] = {}
    for c in credentials:
        if not c.revoked:
            active[c.store_id] = active.get(c.store_id, 0) + 1
    return [{"id": s.id, "credentials": active.get(s.id, 0)} for s in stores]
