"""Event plumbing shared by the Learnproof services: envelope, outbox, relay, consumer runner."""

from learnproof_events.consumer import (
    ConsumerRunner,
    Handler,
    KafkaSource,
    OutboxLogSource,
    define_tracking_table,
)
from learnproof_events.envelope import Event, from_kafka, to_kafka
from learnproof_events.outbox import append, define_outbox_table
from learnproof_events.relay import Relay, define_relay_table
from learnproof_events.schemas import validate_event
from learnproof_events.topics import TopicSpec, ensure_topics

__all__ = [
    "ConsumerRunner",
    "Event",
    "Handler",
    "KafkaSource",
    "OutboxLogSource",
    "Relay",
    "TopicSpec",
    "append",
    "define_outbox_table",
    "define_relay_table",
    "define_tracking_table",
    "ensure_topics",
    "from_kafka",
    "to_kafka",
    "validate_event",
]
