"""Chooses where statement events come from: the LRS outbox (embedded) or Kafka."""

from __future__ import annotations

from typing import Any

from learnproof_events.consumer import KafkaSource, OutboxLogSource

from ..service_layer.unit_of_work import STATEMENT_TOPIC
from ..settings import IdentitySettings


def statement_source(settings: IdentitySettings) -> Any:
    """Kafka when a bootstrap address is configured, else the LRS's outbox table."""
    if settings.kafka_bootstrap:
        return KafkaSource(settings.kafka_bootstrap, [STATEMENT_TOPIC], settings.consumer_name)
    return OutboxLogSource(
        settings.statements_url, [STATEMENT_TOPIC], table=settings.statements_table
    )
