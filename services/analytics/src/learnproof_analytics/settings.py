"""The analytics settings, read from the environment (prefix ANALYTICS_) when the app is built."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_API_KEY = "dev-analytics-key"


def async_url(url: str) -> str:
    """An async SQLAlchemy URL from a plain one (postgresql -> asyncpg, sqlite -> aiosqlite)."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class AnalyticsSettings(BaseSettings):
    """Everything an operator can configure; defaults give the embedded SQLite setup."""

    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = 8081
    environment: str = "development"
    database_url: str = "sqlite+aiosqlite:///.data/analytics.sqlite3"
    # Embedded mode reads the producers' outbox tables; Kafka mode starts when bootstrap is set.
    lrs_log_url: str = "sqlite+aiosqlite:///.data/lrs.sqlite3"
    lrs_outbox_table: str = "outbox"
    identity_log_url: str | None = "sqlite+aiosqlite:///.data/identity.sqlite3"
    identity_outbox_table: str = "outbox"
    kafka_bootstrap: str | None = None
    kafka_group: str = "learnproof-analytics"
    statements_topic: str = "xapi.statements.v1"
    directory_topic: str = "identity.directory.v1"
    batch_size: int = Field(default=500, ge=1)
    # Read credentials: bearer API keys. Empty in development means DEV_API_KEY.
    api_keys: list[SecretStr] = []
    # Pre/post-test activity IRIs in addition to the assessment-type convention.
    pretest_activities: list[str] = []
    posttest_activities: list[str] = []
    assessment_convention: bool = True
    max_page_size: int = Field(default=500, ge=1)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_default_key_outside_development(self) -> AnalyticsSettings:
        keys = {k.get_secret_value() for k in self.api_keys}
        if self.environment != "development" and (not keys or DEV_API_KEY in keys):
            raise ValueError("set ANALYTICS_API_KEYS (not the development key) outside development")
        return self

    def read_keys(self) -> frozenset[str]:
        """The accepted bearer keys."""
        keys = frozenset(k.get_secret_value() for k in self.api_keys if k.get_secret_value())
        return keys or frozenset({DEV_API_KEY})

    @property
    def async_database_url(self) -> str:
        """The read-model database URL with an async driver."""
        return async_url(self.database_url)
