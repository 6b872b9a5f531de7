"""Settings: the development key is refused outside development; plain URLs get async drivers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from learnproof_analytics.settings import DEV_API_KEY, AnalyticsSettings, async_url


def test_outside_development_real_keys_are_required() -> None:
    with pytest.raises(ValidationError):
        AnalyticsSettings(environment="production")
    with pytest.raises(ValidationError):
        AnalyticsSettings(environment="production", api_keys=[DEV_API_KEY])
    settings = AnalyticsSettings(environment="production", api_keys=["k1", "k2"])
    assert settings.read_keys() == {"k1", "k2"}


def test_development_falls_back_to_the_development_key() -> None:
    assert AnalyticsSettings().read_keys() == {DEV_API_KEY}


def test_keys_and_assessment_iris_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANALYTICS_API_KEYS", '["from-env"]')
    monkeypatch.setenv("ANALYTICS_PRETEST_ACTIVITIES", '["urn:pre"]')
    settings = AnalyticsSettings()
    assert settings.read_keys() == {"from-env"}
    assert settings.pretest_activities == ["urn:pre"]


@pytest.mark.parametrize(
    ("plain", "driver"),
    [
        ("postgresql://u@h:1/db", "postgresql+asyncpg://u@h:1/db"),
        ("sqlite:///.data/x.sqlite3", "sqlite+aiosqlite:///.data/x.sqlite3"),
        ("sqlite+aiosqlite:///x", "sqlite+aiosqlite:///x"),
    ],
)
def test_plain_database_urls_get_async_drivers(plain: str, driver: str) -> None:
    assert async_url(plain) == driver
