"""Identity-sync settings, read from the environment (prefix IDENTITY_) when the app is built."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentitySettings(BaseSettings):
    """Everything an operator can configure; defaults give the embedded SQLite setup."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = 8082
    database_url: str = "sqlite+aiosqlite:///.data/identity.sqlite3"
    # Embedded mode reads the LRS outbox from its SQLite file; Kafka mode sets kafka_bootstrap.
    statements_url: str = "sqlite+aiosqlite:///.data/lrs.sqlite3"
    statements_table: str = "outbox"
    kafka_bootstrap: str | None = None
    consumer_name: str = "identity-sync"
    # Events per consumer transaction (smaller = less work lost to a crash, more commits).
    consumer_batch_size: int = Field(default=500, ge=1)
    # Bearer tokens accepted on /scim/v2 (Okta and Entra each get one). Empty = SCIM disabled.
    scim_tokens: list[SecretStr] = Field(default_factory=list)
    # Bearer tokens for the admin API (requirements, reconciliation); empty = open (development).
    admin_tokens: list[SecretStr] = Field(default_factory=list)
    # The AuthZEN gate is open by default: CI jobs ask it; set tokens to require a bearer.
    gate_tokens: list[SecretStr] = Field(default_factory=list)
    requirements_file: str | None = None
    # Issuer of the IdP: statements with account.homePage = this link by userName/externalId.
    idp_issuer: str | None = None
    # In `serve`: also consume statements and tick the clock in the same process.
    run_consumer: bool = True
    tick_seconds: float = 60.0
    public_base_url: str | None = None
    log_level: str = "INFO"

    def token_values(self, which: str) -> set[str]:
        tokens: list[SecretStr] = getattr(self, f"{which}_tokens")
        return {t.get_secret_value() for t in tokens if t.get_secret_value()}
