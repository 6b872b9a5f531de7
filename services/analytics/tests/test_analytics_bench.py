"""The benchmark command keeps working (tiny run; the real numbers come from `make bench`)."""

from __future__ import annotations

import json

from learnproof_analytics.entrypoints.bench import as_json, run_bench, synthetic_events


def test_synthetic_log_is_cmi5_shaped_with_voidings() -> None:
    events = synthetic_events(2000)
    kinds = {e.type for e in events}
    assert kinds == {"xapi.statement.stored", "xapi.statement.voided"}
    verbs = {
        e.data["statement"]["verb"]["id"].rsplit("/", 1)[1] for e in events if "statement" in e.data
    }
    assert {"launched", "initialized", "terminated", "completed"} <= verbs


async def test_bench_projects_every_event_and_reports_a_row() -> None:
    result = await run_bench(300, None, None)
    row = json.loads(as_json(result))
    assert row["backend"] == "sqlite"
    assert row["events"] >= 300 and row["events_per_s"] > 0 and row["rebuild_s"] > 0
