"""The relay: moves a producer's outbox to Kafka in commit order, at least once, never skipping.

* Order: rows are read with the outbox's commit-order-safe reader (learnproof_events.outbox) and
  produced in that order by an idempotent producer (acks=all), so each key's events land in
  their partition in outbox order. A failed batch is re-sent from the durable position, which
  only adds repeats of ids already sent; consumers drop them by id.
* Position: a row in the relay table of the producer's own database, advanced after the
  broker has acknowledged a batch. A restart (or a SIGKILL) resumes from there.
* Replicas: the same row is a lease. Only the holder publishes; every position write is fenced
  by ``owner = me``, so a replica that lost its lease (paused past its expiry) stops at its next
  write. The lease clock is the relays' wall clock, so replicas need roughly synchronised clocks
  (NTP); the worst outcome of skew is a batch sent twice, never a gap.
* Broker outage: producer errors close the producer and retry the same batch with exponential
  backoff; the outbox keeps growing meanwhile and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from learnproof_events.envelope import to_kafka
from learnproof_events.outbox import START, OutboxRow, Position, backlog, read_after
from learnproof_events.topics import TopicSpec, ensure_topics

log = logging.getLogger(__name__)

LAG_EVENTS = Gauge(
    "learnproof_relay_lag_events", "Outbox rows not yet published to Kafka", ["relay"]
)
LAG_SECONDS = Gauge(
    "learnproof_relay_lag_seconds", "Age of the oldest outbox row not yet published", ["relay"]
)
PUBLISHED = Counter(
    "learnproof_relay_published_total", "Outbox rows acknowledged by Kafka", ["relay"]
)
LEADER = Gauge("learnproof_relay_leader", "1 while this replica holds the relay lease", ["relay"])

_TRANSIENT = (KafkaError, OSError, asyncio.TimeoutError, RuntimeError)


def define_relay_table(metadata: sa.MetaData, name: str = "outbox_relay") -> sa.Table:
    """The relay's position and lease, one row per relayed outbox, in the producer's database."""
    return sa.Table(
        name,
        metadata,
        sa.Column("relay", sa.String(200), primary_key=True),
        sa.Column("txid", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=False, server_default="0"),
    )


class Relay:
    """Publishes one outbox table to Kafka; run several replicas for availability."""

    def __init__(
        self,
        engine: AsyncEngine,
        bootstrap: str,
        outbox: sa.Table,
        *,
        name: str | None = None,
        position_table: sa.Table | None = None,
        topics: Mapping[str, TopicSpec] | None = None,
        batch_size: int = 1000,
        poll_interval: float = 0.05,
        lease_seconds: float = 15.0,
        request_timeout: float = 10.0,
        max_backoff: float = 10.0,
    ) -> None:
        self.engine = engine
        self.bootstrap = bootstrap
        self.outbox = outbox
        self.name = name or outbox.name
        self.table = (
            position_table if position_table is not None else define_relay_table(sa.MetaData())
        )
        self.topic_specs = dict(topics or {})
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.request_timeout = request_timeout
        self.max_backoff = max_backoff
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.position = START
        self.published = 0  # rows acknowledged by Kafka since start
        self.lag = 0  # rows after the durable position, at the last measurement
        self._lease_until = 0.0
        self._producer: AIOKafkaProducer | None = None
        self._known_topics: set[str] = set()
        self._lag_measured = 0.0
        self._prepared = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Publishes until ``stop`` is set; survives broker and database outages."""
        delay = 0.2
        try:
            await self._prepare_table()
            while not stop.is_set():
                try:
                    moved = await self.step()
                    delay = 0.2
                except asyncio.CancelledError:
                    raise
                except (*_TRANSIENT, sa.exc.DBAPIError) as exc:
                    log.warning("relay %s: %s; retrying in %.1fs", self.name, exc, delay)
                    await self._drop_producer()
                    # The lag is what an outage shows on a dashboard: keep measuring it.
                    with contextlib.suppress(Exception):
                        await self._measure_lag(force=False)
                    await _sleep(stop, delay)
                    delay = min(delay * 2, self.max_backoff)
                    continue
                if moved == 0:
                    await _sleep(
                        stop, self.poll_interval if self._holds() else self.lease_seconds / 3
                    )
        finally:
            await self._drop_producer()
            await self._release()

    async def run_until_idle(self) -> int:
        """Publishes everything committed now and returns the count (tests, one-shot CLI)."""
        await self._prepare_table()
        before = self.published
        try:
            while await self.step() > 0:
                pass
            await self._measure_lag(force=True)
        finally:
            await self._drop_producer()
        return self.published - before

    async def step(self) -> int:
        """One batch: lease, read, publish, advance. Returns the rows published."""
        if not self._prepared:
            await self._prepare_table()
        if not await self._hold_lease():
            LEADER.labels(self.name).set(0)
            return 0
        LEADER.labels(self.name).set(1)
        async with self.engine.connect() as conn:
            rows = await read_after(conn, self.outbox, self.position, self.batch_size)
        if not rows:
            await self._measure_lag(force=False)
            return 0
        await self._publish(rows)
        if not await self._advance(rows[-1].position):
            log.warning("relay %s: lease lost; another replica publishes now", self.name)
            return 0
        self.published += len(rows)
        PUBLISHED.labels(self.name).inc(len(rows))
        await self._measure_lag(force=False)
        return len(rows)

    # -- kafka ----------------------------------------------------------------------------------

    async def _publish(self, rows: list[OutboxRow]) -> None:
        new_topics = {r.event.topic for r in rows} - self._known_topics
        if new_topics:
            await ensure_topics(self.bootstrap, new_topics, self.topic_specs, self.request_timeout)
            self._known_topics |= new_topics
        producer = await self._get_producer()
        pending = []
        for row in rows:
            key, value, headers = to_kafka(row.event, row.raw_data)
            pending.append(
                await producer.send(
                    row.event.topic,
                    value=value,
                    key=key,
                    headers=headers,
                    timestamp_ms=int(row.event.time.timestamp() * 1000),
                )
            )
        # The position moves only after every record of the batch is acknowledged (acks=all).
        await asyncio.wait_for(asyncio.gather(*pending), self.request_timeout * 3)

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                max_batch_size=256 * 1024,
                request_timeout_ms=int(self.request_timeout * 1000),
                metadata_max_age_ms=10_000,
            )
            try:
                await asyncio.wait_for(producer.start(), self.request_timeout)
            except BaseException:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(producer.stop(), 5)
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        # After an error the producer's in-flight state is unknown; a fresh producer (new
        # producer id) re-sends the batch from the durable position.
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)

    # -- position and lease ---------------------------------------------------------------------

    async def _prepare_table(self) -> None:
        if self._prepared:
            return
        try:
            async with self.engine.begin() as conn:
                await conn.run_sync(self.table.create, checkfirst=True)
        except sa.exc.DBAPIError:
            # Another replica created it between our check and our CREATE.
            async with self.engine.connect() as conn:
                exists = await conn.run_sync(
                    lambda sync: sa.inspect(sync).has_table(self.table.name)
                )
            if not exists:
                raise
        c = self.table.c
        async with self.engine.connect() as conn:
            found = (await conn.execute(sa.select(c.relay).where(c.relay == self.name))).first()
        if found is None:
            # Replicas starting together race here; the loser's insert fails harmlessly.
            with contextlib.suppress(sa.exc.IntegrityError):
                async with self.engine.begin() as conn:
                    await conn.execute(sa.insert(self.table).values(relay=self.name))
        self._prepared = True

    def _holds(self) -> bool:
        return time.time() < self._lease_until

    async def _hold_lease(self) -> bool:
        now = time.time()
        # Renew when a third of the lease has passed: not a write per poll.
        if now < self._lease_until - self.lease_seconds * 2 / 3:
            return True
        c = self.table.c
        until = now + self.lease_seconds
        was_holding = self._holds()
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa.update(self.table)
                .where(
                    c.relay == self.name,
                    sa.or_(c.owner == self.owner, c.owner.is_(None), c.lease_until < now),
                )
                .values(owner=self.owner, lease_until=until)
            )
            if result.rowcount != 1:
                self._lease_until = 0.0
                return False
            if not was_holding:
                # Taking over (or coming back): another replica may have moved the position.
                row = (
                    await conn.execute(sa.select(c.txid, c.seq).where(c.relay == self.name))
                ).one()
                self.position = Position(row.txid, row.seq)
                log.info("relay %s: leader %s from %s", self.name, self.owner, self.position)
        self._lease_until = until
        return True

    async def _advance(self, position: Position) -> bool:
        c = self.table.c
        until = time.time() + self.lease_seconds
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa.update(self.table)
                .where(c.relay == self.name, c.owner == self.owner)
                .values(txid=position.txid, seq=position.seq, lease_until=until)
            )
        if result.rowcount != 1:
            self._lease_until = 0.0
            return False
        self.position = position
        self._lease_until = until
        return True

    async def _release(self) -> None:
        if not self._holds():
            return
        self._lease_until = 0.0
        LEADER.labels(self.name).set(0)
        c = self.table.c
        with contextlib.suppress(Exception):
            async with self.engine.begin() as conn:
                await conn.execute(
                    sa.update(self.table)
                    .where(c.relay == self.name, c.owner == self.owner)
                    .values(owner=None, lease_until=0)
                )

    async def _measure_lag(self, force: bool) -> None:
        now = time.time()
        if not force and now - self._lag_measured < 1.0:
            return
        self._lag_measured = now
        async with self.engine.connect() as conn:
            count, oldest = await backlog(conn, self.outbox, self.position)
        self.lag = count
        LAG_EVENTS.labels(self.name).set(count)
        LAG_SECONDS.labels(self.name).set(
            0 if oldest is None else max(0.0, now - oldest.timestamp())
        )


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
