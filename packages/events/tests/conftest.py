"""Fixtures for the learnproof_events tests: databases on SQLite and the real PostgreSQL, Kafka."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from events_testkit import Databases, kafka_bootstrap, pg_base_url


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
async def dbs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Databases]:
    if request.param == "postgres":
        pg_base_url()
    databases = Databases(request.param, tmp_path)
    try:
        yield databases
    finally:
        await databases.close()


@pytest.fixture
async def pg_dbs(tmp_path: Path) -> AsyncIterator[Databases]:
    pg_base_url()
    databases = Databases("postgres", tmp_path)
    try:
        yield databases
    finally:
        await databases.close()


@pytest.fixture
def kafka() -> str:
    return kafka_bootstrap()


@pytest.fixture
async def unique() -> AsyncIterator[Callable[[str], str]]:
    """Unique names for topics and groups on the broker everyone shares; topics deleted after."""
    run = uuid.uuid4().hex[:8]
    yield lambda name: f"test.{run}.{name}"
    bootstrap = os.environ.get("LEARNPROOF_TEST_KAFKA")
    if bootstrap:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            ours = [t for t in await admin.list_topics() if t.startswith(f"test.{run}.")]
            if ours:
                await admin.delete_topics(ours)
        finally:
            await admin.close()
