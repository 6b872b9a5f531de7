"""Child processes for the crash tests: a relay or a consumer that the test can SIGKILL.

python events_proc.py relay <db-url> <kafka> <batch-size>
python events_proc.py consume <db-url> <kafka> <topic> <name> <group> <batch> <delay> <idle|run>
"""

from __future__ import annotations

import asyncio
import signal
import sys

import sqlalchemy as sa
from events_testkit import chain_handler, fold_table
from sqlalchemy.ext.asyncio import AsyncConnection

from learnproof_events.consumer import ConsumerRunner, KafkaSource, define_tracking_table
from learnproof_events.db import make_engine
from learnproof_events.envelope import Event
from learnproof_events.outbox import define_outbox_table
from learnproof_events.relay import Relay


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def relay(db: str, kafka: str, batch: int) -> None:
    engine = make_engine(db)
    outbox = define_outbox_table(sa.MetaData())
    try:
        await Relay(engine, kafka, outbox, batch_size=batch, lease_seconds=2).run(stop_on_signals())
    finally:
        await engine.dispose()


async def consume(
    db: str, kafka: str, topic: str, name: str, group: str, batch: int, delay: float, mode: str
) -> None:
    engine = make_engine(db)
    md = sa.MetaData()
    tracking = define_tracking_table(md)
    fold = fold_table(md)
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    inner = chain_handler(fold)

    async def slow(conn: AsyncConnection, events: list[Event]) -> None:
        await inner(conn, events)
        await asyncio.sleep(delay)  # inside the transaction: a kill lands mid-batch

    runner = ConsumerRunner(name, KafkaSource(kafka, [topic], group), engine, tracking, slow, batch)
    try:
        if mode == "idle":
            print(await runner.run_until_idle(), flush=True)
            await runner.close()
        else:
            await runner.run(stop_on_signals())
    finally:
        await engine.dispose()


def main() -> None:
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "relay":
        asyncio.run(relay(args[0], args[1], int(args[2])))
    elif kind == "consume":
        db, kafka, topic, name, group, batch, delay, mode = args
        asyncio.run(consume(db, kafka, topic, name, group, int(batch), float(delay), mode))
    else:
        raise SystemExit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()
