"""The acceptance scenario: 240 learners in groups; every API figure matches plain Python.

Expected figures come from analytics_scenario (plain Python over the generated records), never
from the service's own functions. The same scenario runs on SQLite and PostgreSQL, and the
rebuilt read model must equal the incrementally built one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import analytics_scenario as sc
import pytest
from analytics_testkit import Harness


async def all_pages(harness: Harness, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await harness.get(path, limit=97, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def publish_incrementally(harness: Harness, cohort: sc.Cohort) -> None:
    events = sc.events(cohort)
    chunk = len(events) // 4 + 1
    for start in range(0, len(events), chunk):
        part = events[start : start + chunk]
        await harness.log.publish(part)
        await harness.log.publish(part[:25])  # at-least-once: some events arrive twice
        await harness.catch_up()


def assert_close(actual: Any, expected: Any, what: str) -> None:
    assert sc.close(actual, expected), f"{what}: API {actual!r} != expected {expected!r}"


async def check_learners(harness: Harness, cohort: sc.Cohort, **params: str) -> None:
    expected = sc.expected_learners(cohort)
    items = await all_pages(harness, "/v1/learners", **params)
    assert len(items) == len(expected) >= 100
    for item in items:
        want = expected[item["actor"]]
        for name in ("attempted", "completed", "passed", "failed", "sessions", "statements"):
            assert item[name] == want[name], (item["actor"], name)
        for name in ("best_score", "last_score", "time_spent_s"):
            assert_close(item[name], want[name], f"{item['actor']} {name}")
        for name in ("first_activity", "last_activity"):
            assert datetime.fromisoformat(item[name]) == want[name]


async def check_course(harness: Harness, cohort: sc.Cohort, group: str | None) -> None:
    actors = None
    params: dict[str, str] = {}
    if group is not None:
        actors = {a for a, gs in cohort.groups_of.items() if group in gs}
        params["group"] = group
    want = sc.expected_activity(cohort, sc.AU, actors)
    got = await harness.get("/v1/courses/" + quote(sc.AU, safe=""), **params)
    for name in ("enrolments", "completed", "passed", "failed"):
        assert got[name] == want[name], (group, name)
    for name in ("completion_rate", "pass_rate", "median_time_to_complete_s"):
        assert_close(got[name], want[name], f"{group} {name}")
    assert_close(got["scores"]["median"], want["scores_median"], "score median")
    assert_close(got["scores"]["mean"], want["scores_mean"], "score mean")
    assert got["time_spent"]["n"] == want["time_n"]
    assert_close(got["time_spent"]["median"], want["time_median"], "time median")
    assert_close(got["time_spent"]["total"], want["time_total"], "time total")


def check_delta(got: dict[str, Any], want: dict[str, Any], what: str) -> None:
    for name in ("pairs", "missing_post", "missing_pre", "undefined_gain"):
        assert got[name] == want[name], (what, name)
    for name in ("mean_delta", "mean_gain", "class_average_gain", "d_z"):
        assert_close(got[name], want[name], f"{what} {name}")


async def check_breakdown(harness: Harness, cohort: sc.Cohort) -> None:
    cuts = await harness.get("/v1/courses/breakdown", activity=sc.AU, by="group")
    assert [c["cut"] for c in cuts] == sc.GROUPS
    for cut in cuts:
        actors = {a for a, gs in cohort.groups_of.items() if cut["cut"] in gs}
        want = sc.expected_activity(cohort, sc.AU, actors)
        assert cut["summary"]["enrolments"] == want["enrolments"]
        assert_close(cut["summary"]["completion_rate"], want["completion_rate"], cut["cut"])
        assert_close(cut["summary"]["pass_rate"], want["pass_rate"], cut["cut"])


async def check_deltas(harness: Harness, cohort: sc.Cohort) -> None:
    report = await harness.get("/v1/assessments/deltas")
    overall = sc.expected_deltas(cohort)
    assert overall["pairs"] > 150 and overall["undefined_gain"] > 0 and overall["missing_post"] > 0
    check_delta(report["overall"], overall, "overall")
    [course] = report["by_course"]
    assert course["course"] == sc.COURSE
    check_delta(course["summary"], overall, "course")
    by_group = {g["group"]: g["summary"] for g in report["by_group"]}
    assert sorted(by_group) == sc.GROUPS
    for group in sc.GROUPS:
        actors = {a for a, gs in cohort.groups_of.items() if group in gs}
        check_delta(by_group[group], sc.expected_deltas(cohort, actors), group)
        filtered = await harness.get("/v1/assessments/deltas", group=group)
        check_delta(filtered["overall"], sc.expected_deltas(cohort, actors), f"filter {group}")


async def check_engagement(harness: Harness, cohort: sc.Cohort) -> None:
    for granularity, weekly in (("day", False), ("week", True)):
        got = await harness.get("/v1/engagement/active", granularity=granularity)
        periods = {date.fromisoformat(p["period"]): p["learners"] for p in got["periods"]}
        assert periods == sc.expected_active(cohort, weekly), granularity
    sessions = await harness.get("/v1/engagement/sessions", limit=5)
    summary = sessions["summary"]
    want = sc.expected_sessions(cohort)
    assert {k: summary[k] for k in want} == want
    [video] = await harness.get("/v1/engagement/video")
    want_video = sc.expected_video(cohort)
    assert video["learners"] == want_video.pop("learners")
    assert video["reached"] == want_video


async def check_managers(harness: Harness, cohort: sc.Cohort) -> None:
    for manager in sc.MANAGERS:
        items = await all_pages(harness, "/v1/learners", manager=manager)
        want = sorted(a for a, m in cohort.manager_of.items() if m == manager)
        assert [i["actor"] for i in items] == want


async def test_scenario_every_api_figure_matches(harness: Harness) -> None:
    cohort = sc.generate()
    assert len({r.actor for r in cohort.records}) >= 200
    assert any(r.voided for r in cohort.records)
    await publish_incrementally(harness, cohort)
    await check_learners(harness, cohort)
    for group in [None, *sc.GROUPS]:
        await check_course(harness, cohort, group)
    await check_breakdown(harness, cohort)
    await check_deltas(harness, cohort)
    await check_engagement(harness, cohort)
    await check_managers(harness, cohort)
    moment = sc.T0 + timedelta(days=9)
    as_then = sc.snapshot(cohort, moment)
    # Some statements were live then and voided later: the snapshot must still count them.
    assert any(r.voided and r.at <= moment < sc.voided_at(r) for r in cohort.records)
    await check_learners(harness, as_then, as_of=moment.isoformat())

    incremental = await harness.container.read_model.dump()
    assert len(incremental["analytics_voided_statements"]) == sum(r.voided for r in cohort.records)
    replayed = await harness.container.rebuild()
    assert replayed == len(harness.log.ids)
    assert await harness.container.read_model.dump() == incremental
    await check_deltas(harness, cohort)


def test_scenario_generator_covers_the_edge_cases() -> None:
    cohort = sc.generate(240)
    roles = [r for r in cohort.records if r.role is not None]
    assert any(r.score == 1.0 and r.role == "pretest" for r in roles)
    assert sc.expected_deltas(cohort)["missing_pre"] > 0
    assert sc.expected_sessions(cohort)["open"] > 0
    assert sc.expected_sessions(cohort)["abandoned"] > 0


@pytest.mark.kafka
@pytest.mark.postgres
async def test_scenario_through_kafka_and_postgres_gives_the_same_figures(
    kafka_harness: Harness,
) -> None:
    cohort = sc.generate()
    await publish_incrementally(kafka_harness, cohort)
    await check_learners(kafka_harness, cohort)
    for group in [None, *sc.GROUPS]:
        await check_course(kafka_harness, cohort, group)
    await check_deltas(kafka_harness, cohort)
    await check_engagement(kafka_harness, cohort)
    await check_managers(kafka_harness, cohort)
    incremental = await kafka_harness.container.read_model.dump()
    assert await kafka_harness.container.rebuild() == len(kafka_harness.log.ids)
    assert await kafka_harness.container.read_model.dump() == incremental
