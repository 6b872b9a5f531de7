"""The LRS's settings, read from the environment (prefix LRS_) when the app is built."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LrsSettings(BaseSettings):
    """Everything an operator can configure; defaults give the embedded SQLite setup."""

    model_config = SettingsConfigDict(env_prefix="LRS_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite+aiosqlite:///.data/lrs.sqlite3"
    base_path: str = "/xapi"
    # Credentials created at start when both are set (all scopes, default store).
    bootstrap_key: str | None = None
    bootstrap_secret: str | None = None
    default_store: str = "default"
    # Largest request body accepted (statements with attachments included), in bytes.
    max_body_bytes: int = 64 * 1024 * 1024
    # Largest document (state / profile) body, in bytes.
    max_document_bytes: int = 16 * 1024 * 1024
    # Most statements returned by one GET page, and the default page when `limit` is 0 or absent.
    max_page_size: int = 500
    # Seconds a verified secret stays in the in-process cache (the KDF is slow on purpose).
    credential_cache_seconds: float = 60.0
    # scrypt cost (log2 N) for new credential secrets; 14 is the production default.
    kdf_log2_n: int = Field(default=14, ge=10, le=20)
    # Milliseconds a query may run before PostgreSQL cancels it (pathological related_* queries).
    query_timeout_ms: int = 10_000
    pool_size: int = Field(default=10, ge=1)
    # PostgreSQL: a Consistent-Through reading (one query of the database clock and its writing
    # transactions) is reused by the process's GETs for up to this long; 0 = one per GET. A
    # reused value is older, never wrong: it was read before the reusing query's snapshot.
    consistent_through_max_age_ms: int = Field(default=50, ge=0)
    # Concurrent statement writes of one credential share a transaction (group commit); each
    # request is still all-or-nothing and answered after its commit. Off: one per request.
    group_commit: bool = True
    group_commit_max_statements: int = Field(default=250, ge=1)
    group_commit_parallel: int = Field(default=4, ge=1)  # transactions in flight per credential
    # Worker processes for `serve`; 0 = automatic: one per CPU on PostgreSQL (a worker is
    # CPU-bound: one process tops out at one core), one on the embedded SQLite file.
    workers: int = Field(default=0, ge=0)
    cors_origins: list[str] = ["*"]
    log_level: str = "INFO"

    def worker_count(self) -> int:
        if self.workers:
            return self.workers
        if self.database_url.startswith("sqlite"):
            return 1
        return max(1, os.cpu_count() or 1)
