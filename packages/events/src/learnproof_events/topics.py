"""Explicit topic creation from settings (the broker runs with auto-create off)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import BaseModel


class TopicSpec(BaseModel):
    """How a topic is created: partitions and retention (-1 keeps history forever)."""

    partitions: int = 3
    replication: int = 1
    retention_ms: int = -1
    cleanup_policy: str = "delete"

    def configs(self) -> dict[str, str]:
        """Topic-level configs passed at creation."""
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy}


# The project's topics. Every projection can be rebuilt from them, so they keep their history.
DEFAULT_TOPICS: dict[str, TopicSpec] = {
    "xapi.statements.v1": TopicSpec(partitions=6),
    "identity.directory.v1": TopicSpec(partitions=3),
    "compliance.status.v1": TopicSpec(partitions=3),
    "compliance.entitlements.v1": TopicSpec(partitions=3),
}


def spec_for(topic: str, specs: Mapping[str, TopicSpec] | None = None) -> TopicSpec:
    """The configured spec of a topic, else the project default, else a generic one."""
    if specs is not None and topic in specs:
        return specs[topic]
    return DEFAULT_TOPICS.get(topic, TopicSpec())


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    specs: Mapping[str, TopicSpec] | None = None,
    max_wait: float = 30.0,
) -> list[str]:
    """Creates the topics that do not exist yet; returns the ones it created.

    Concurrent creators (relay replicas, consumers starting together) are fine: "already
    exists" counts as success.
    """
    wanted = sorted(set(topics))
    if not wanted:
        return []
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(max_wait * 1000)
    )
    await asyncio.wait_for(admin.start(), max_wait)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return []
        new = []
        for name in missing:
            spec = spec_for(name, specs)
            new.append(
                NewTopic(name, spec.partitions, spec.replication, topic_configs=spec.configs())
            )
        response = await admin.create_topics(new, timeout_ms=int(max_wait * 1000))
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"creating topic {name} failed: {topic_error}")
        await _wait_for_metadata(admin, missing, max_wait)
        return missing
    finally:
        await admin.close()


async def _wait_for_metadata(admin: AIOKafkaAdminClient, names: list[str], max_wait: float) -> None:
    # CreateTopics returns before every broker has the metadata; producers then see
    # UNKNOWN_TOPIC_OR_PARTITION for a moment. Wait until the topics are listed.
    deadline = asyncio.get_running_loop().time() + max_wait
    while asyncio.get_running_loop().time() < deadline:
        if set(names) <= set(await admin.list_topics()):
            return
        await asyncio.sleep(0.1)


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of a topic (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    found: list[int] = []
    for entry in described:
        if entry.get("topic") == topic and entry.get("error_code") == 0:
            found.extend(int(p["partition"]) for p in entry.get("partitions", ()))
    return sorted(found)
