"""Kafka mode: statement events read from a real broker (KafkaSource) drive compliance alike."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from identity_testkit import (
    COURSE,
    Outbox,
    account,
    ask,
    join,
    make_group,
    make_user,
    statement,
    types,
)

from learnproof_events.consumer import KafkaSource
from learnproof_events.envelope import Event, to_kafka
from learnproof_identity.adapters.clock import ManualClock
from learnproof_identity.bootstrap import Container

pytestmark = pytest.mark.kafka


@pytest.fixture
async def topic() -> AsyncIterator[tuple[str, str]]:
    bootstrap = os.environ.get("LEARNPROOF_TEST_KAFKA")
    if not bootstrap:
        if os.environ.get("LEARNPROOF_ALLOW_SKIP") == "1":
            pytest.skip("LEARNPROOF_TEST_KAFKA unset (LEARNPROOF_ALLOW_SKIP=1)")
        pytest.fail("LEARNPROOF_TEST_KAFKA is not set: run under scripts/with-services.sh")
    name = f"test.identity.{uuid.uuid4().hex[:8]}.statements"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
        yield bootstrap, name
    finally:
        await admin.delete_topics([name])
        await admin.close()


async def test_statements_from_kafka(
    client: httpx.AsyncClient,
    container: Container,
    clock: ManualClock,
    published: Outbox,
    topic: tuple[str, str],
) -> None:
    bootstrap, name = topic
    user_id = await make_user(client, "kim@acme.com")
    await join(client, await make_group(client, "AI Engineers"), user_id)
    await published.new()
    clock.advance(timedelta(days=1))
    done = {
        "id": str(uuid.uuid4()),
        **statement(account("kim@acme.com"), "passed", COURSE, clock.now()),
    }
    event = Event(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"default/{done['id']}/stored")),
        type="xapi.statement.stored",
        source="/learnproof/lrs",
        topic=name,
        key=f"account:{done['actor']['account']['homePage']}|kim@acme.com",
        time=clock.now(),
        data={"store": "default", "statement": done},
        subject=done["id"],
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        key, value, headers = to_kafka(event)
        for _ in range(2):  # at-least-once delivery: the duplicate must change nothing
            await producer.send_and_wait(name, value, key=key, headers=headers)
    finally:
        await producer.stop()

    runner = container.consumer(KafkaSource(bootstrap, [name], f"identity-{uuid.uuid4().hex[:6]}"))
    try:
        assert await runner.run_until_idle() == 1
    finally:
        await runner.close()
    assert types(await published.new()) == [
        "identity.actor.linked",
        "compliance.satisfied",
        "entitlement.granted",
    ]
    assert (await ask(client, "kim@acme.com"))["decision"] is True
