"""Benchmark: projection throughput and rebuild time over a synthetic cmi5 statement log."""

from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from learnproof_analytics.bootstrap import bootstrap
from learnproof_analytics.domain.filters import FactFilter
from learnproof_analytics.service_layer import queries
from learnproof_analytics.settings import AnalyticsSettings, async_url
from learnproof_events.envelope import Event
from learnproof_events.outbox import append, define_outbox_table

ADL = "http://adlnet.gov/expapi/verbs/"
SESSION = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
START = datetime(2026, 1, 5, 8, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BenchResult:
    """One benchmark row."""

    backend: str
    statements: int
    events: int
    projection_s: float
    events_per_s: float
    rebuild_s: float
    learners_page_s: float
    course_s: float
    deltas_s: float


def _statement(
    rng: random.Random, learner: int, verb: str, at: datetime, reg: str, sid: str, **result: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "actor": {"mbox": f"mailto:learner{learner}@bench.example"},
        "verb": {"id": ADL + verb},
        "object": {"objectType": "Activity", "id": f"https://bench.example/au/{learner % 20}"},
        "context": {"registration": reg, "extensions": {SESSION: sid}},
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "stored": at.isoformat().replace("+00:00", "Z"),
    }
    if result:
        body["result"] = result
    return body


def synthetic_events(statements: int, seed: int = 7) -> list[Event]:
    """About ``statements`` cmi5-shaped statements (sessions of 3-5) plus ~2% voidings."""
    rng = random.Random(seed)
    events: list[Event] = []
    learner = 0
    while len(events) < statements:
        learner += 1
        reg = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        sid = f"{reg}-1"
        at = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        total = rng.randint(300, 3600)
        bodies = [
            _statement(rng, learner, "launched", at, reg, sid),
            _statement(rng, learner, "initialized", at, reg, sid),
        ]
        score = round(rng.random(), 2)
        bodies.append(
            _statement(
                rng,
                learner,
                "passed" if score >= 0.5 else "failed",
                at + timedelta(seconds=total - 60),
                reg,
                sid,
                score={"scaled": score},
                duration=f"PT{total - 60}S",
            )
        )
        if rng.random() < 0.7:
            bodies.append(
                _statement(
                    rng,
                    learner,
                    "completed",
                    at + timedelta(seconds=total - 30),
                    reg,
                    sid,
                    duration=f"PT{total - 30}S",
                )
            )
        bodies.append(
            _statement(
                rng,
                learner,
                "terminated",
                at + timedelta(seconds=total),
                reg,
                sid,
                duration=f"PT{total}S",
            )
        )
        key = f"mbox:mailto:learner{learner}@bench.example"
        for body in bodies:
            events.append(
                _event("xapi.statement.stored", key, {"store": "bench", "statement": body})
            )
        if rng.random() < 0.1:
            events.append(
                _event(
                    "xapi.statement.voided",
                    key,
                    {
                        "store": "bench",
                        "voided_statement_id": bodies[2]["id"],
                        "voiding_statement_id": str(uuid.uuid4()),
                        "voided_at": bodies[-1]["timestamp"],
                    },
                )
            )
    return events


def _event(kind: str, key: str, data: dict[str, Any]) -> Event:
    return Event(
        str(uuid.uuid4()),
        kind,
        "/learnproof/lrs",
        "xapi.statements.v1",
        key,
        datetime.now(UTC),
        data,
    )


async def run_bench(statements: int, database_url: str | None, log_url: str | None) -> BenchResult:
    """Fill a log, project it, rebuild it, time three queries (temp SQLite files by default)."""
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as workdir:
        return await _run_bench(statements, database_url, log_url, Path(workdir))


async def _run_bench(
    statements: int, database_url: str | None, log_url: str | None, workdir: Path
) -> BenchResult:
    database_url = database_url or f"sqlite+aiosqlite:///{workdir / 'analytics.sqlite3'}"
    log_url = async_url(log_url or f"sqlite+aiosqlite:///{workdir / 'lrs.sqlite3'}")
    events = synthetic_events(statements)
    log_engine = create_async_engine(log_url)
    outbox = define_outbox_table(sa.MetaData())
    async with log_engine.begin() as conn:
        await conn.run_sync(outbox.metadata.create_all)
        await append(conn, outbox, events)
    await log_engine.dispose()
    settings = AnalyticsSettings(
        database_url=database_url, lrs_log_url=log_url, identity_log_url="", batch_size=2000
    )
    container = bootstrap(settings)
    await container.start()
    try:
        began = time.perf_counter()
        applied = await container.consume_until_idle()
        projection = time.perf_counter() - began
        began = time.perf_counter()
        await container.rebuild()
        rebuild = time.perf_counter() - began
        timings = []
        for call in (
            lambda: queries.list_learners(container.read_model, FactFilter(), None, 100),
            lambda: queries.get_activity(
                container.read_model, "https://bench.example/au/3", FactFilter()
            ),
            lambda: queries.assessment_deltas(
                container.read_model, FactFilter(), container.assessment
            ),
        ):
            began = time.perf_counter()
            await call()
            timings.append(time.perf_counter() - began)
    finally:
        await container.close()
    backend = sa.make_url(async_url(database_url)).get_backend_name()
    return BenchResult(
        backend,
        sum(e.type == "xapi.statement.stored" for e in events),
        applied,
        projection,
        applied / projection,
        rebuild,
        *timings,
    )


def as_json(result: BenchResult) -> str:
    """The result as one JSON line."""
    return json.dumps(asdict(result))
