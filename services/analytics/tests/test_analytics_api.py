"""API tests through ASGITransport on SQLite and PostgreSQL: auth, figures, filters, paging."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from analytics_statements import (
    ASSESSMENT_TYPE,
    FakeEvent,
    statement,
    stored_event,
    voided_event,
)
from analytics_testkit import Harness

AU = "https://example.org/course/ai-ethics/au/1"
COURSE = "https://example.org/course/ai-ethics"
PRE = "https://example.org/course/ai-ethics/pretest"
POST = "https://example.org/course/ai-ethics/posttest"
VIDEO = "https://example.org/video/intro"


def directory() -> list[FakeEvent]:
    return [
        FakeEvent("identity.user.upserted", "u-a", {"user": {"id": "u-a", "managerId": "m-1"}}),
        FakeEvent("identity.user.upserted", "u-b", {"user": {"id": "u-b", "managerId": "m-2"}}),
        FakeEvent(
            "identity.group.upserted",
            "g-eng",
            {"group": {"id": "g-eng", "displayName": "Engineering", "members": ["u-a"]}},
        ),
        FakeEvent(
            "identity.actor.linked", "u-a", {"user_id": "u-a", "actor": "mbox:mailto:a@x.org"}
        ),
        FakeEvent(
            "identity.actor.linked", "u-b", {"user_id": "u-b", "actor": "mbox:mailto:b@x.org"}
        ),
    ]


def learning(email: str, reg: str, pre: float, post: float, day: int) -> list[FakeEvent]:
    at = timedelta(days=day)
    common = {"registration": reg, "parent": COURSE}
    assessment = {"activity_type": ASSESSMENT_TYPE, **common}
    return [
        stored_event(statement(email, "launched", AU, at, **common)),
        stored_event(statement(email, "initialized", AU, at, session=f"s-{reg}", **common)),
        stored_event(
            statement(email, "failed", PRE, at, score=pre, assessment="pretest", **assessment)
        ),
        stored_event(
            statement(
                email,
                "passed",
                POST,
                at + timedelta(minutes=30),
                score=post,
                assessment="posttest",
                **assessment,
            )
        ),
        stored_event(
            statement(
                email,
                "completed",
                AU,
                at + timedelta(minutes=40),
                session=f"s-{reg}",
                duration=2400,
                **common,
            )
        ),
        stored_event(
            statement(
                email,
                "terminated",
                AU,
                at + timedelta(minutes=45),
                session=f"s-{reg}",
                duration=2700,
                **common,
            )
        ),
        stored_event(statement(email, "played", VIDEO, at, progress=0.5 if day else 1.0)),
    ]


async def seed(harness: Harness) -> dict[str, dict[str, object]]:
    await harness.log.publish(directory())
    events = learning("a@x.org", "reg-a", 0.2, 0.8, 0) + learning("b@x.org", "reg-b", 0.5, 0.7, 8)
    bogus = statement("a@x.org", "passed", AU, timedelta(days=1), registration="reg-a", score=0.1)
    events += [stored_event(bogus), voided_event(bogus)]
    await harness.log.publish(events)
    await harness.catch_up()
    return {"bogus": bogus}


async def test_requests_without_the_read_key_are_refused(harness: Harness) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        response = await harness.client.get("/v1/learners", headers=headers)
        if "Authorization" not in headers:
            response = await harness.client.get("/v1/learners", headers={"Authorization": ""})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    health = await harness.client.get("/v1/health", headers={"Authorization": ""})
    assert health.status_code == 200


async def test_learner_figures_after_voiding(harness: Harness) -> None:
    await seed(harness)
    page = await harness.get("/v1/learners")
    assert [item["actor"] for item in page["items"]] == [
        "mbox:mailto:a@x.org",
        "mbox:mailto:b@x.org",
    ]
    learner = await harness.get("/v1/learners/" + quote("mbox:mailto:a@x.org", safe=""))
    assert learner["attempted"] == 4  # AU, pretest, posttest, video
    assert learner["completed"] == 1 and learner["passed"] == 1 and learner["failed"] == 1
    assert learner["best_score"] == 0.8  # the voided 0.1 "passed" is gone
    assert learner["time_spent_s"] == 2700.0  # the terminated duration, not 2400 + 2700
    assert learner["users"][0]["user"]["id"] == "u-a"
    assert learner["users"][0]["groups"] == ["g-eng"]
    au = next(a for a in learner["activities"] if a["activity_id"] == AU)
    assert au["outcome"]["completed"] is True and au["outcome"]["passed"] is False


async def test_unknown_learner_is_404_with_an_error_body(harness: Harness) -> None:
    response = await harness.client.get("/v1/learners/" + quote("mbox:mailto:nobody@x.org"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


async def test_course_figures_and_filters(harness: Harness) -> None:
    await seed(harness)
    course = await harness.get("/v1/courses/" + quote(AU, safe=""))
    assert (course["enrolments"], course["completed"], course["completion_rate"]) == (2, 2, 1.0)
    assert course["time_spent"]["median"] == 2700.0
    assert course["median_time_to_complete_s"] == 2400.0
    in_group = await harness.get("/v1/courses/" + quote(AU, safe=""), group="g-eng")
    assert in_group["enrolments"] == 1
    by_manager = await harness.get("/v1/courses", manager="m-2")
    assert {i["activity_id"] for i in by_manager["items"]} == {AU, PRE, POST, VIDEO}
    assert all(i["learners"] == 1 for i in by_manager["items"])
    first_week = await harness.get(
        "/v1/courses/" + quote(AU, safe=""),
        since="2026-03-01T00:00:00Z",
        until="2026-03-09T00:00:00Z",
    )
    assert first_week["enrolments"] == 1
    by_course = await harness.get("/v1/courses", course=COURSE)
    assert {i["activity_id"] for i in by_course["items"]} == {AU, PRE, POST}
    by_registration = await harness.get("/v1/learners", registration="REG-B")
    assert [i["actor"] for i in by_registration["items"]] == ["mbox:mailto:b@x.org"]


async def test_pagination_walks_every_item_once(harness: Harness) -> None:
    await seed(harness)
    seen, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = await harness.get("/v1/courses", **params)
        seen += [i["activity_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([AU, PRE, POST, VIDEO])


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "%%%"},
        {"limit": 100000},
        {"since": "2026-03-09T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        {"since": "2026-03-09T00:00:00"},
    ],
)
async def test_bad_queries_are_400(harness: Harness, params: dict[str, object]) -> None:
    response = await harness.client.get("/v1/learners", params=params)
    assert response.status_code == 400, response.text
    assert "error" in response.json()


async def test_assessment_deltas_overall_by_course_and_group(harness: Harness) -> None:
    await seed(harness)
    report = await harness.get("/v1/assessments/deltas", include_pairs="true")
    overall = report["overall"]
    assert overall["pairs"] == 2
    assert overall["mean_delta"] == pytest.approx((0.6 + 0.2) / 2)
    assert overall["mean_gain"] == pytest.approx((0.6 / 0.8 + 0.2 / 0.5) / 2)
    assert overall["class_average_gain"] == pytest.approx((0.75 - 0.35) / (1 - 0.35))
    assert report["by_course"][0]["course"] == COURSE
    assert [(g["group"], g["summary"]["pairs"]) for g in report["by_group"]] == [("g-eng", 1)]
    assert len(report["pairs"]) == 2


async def test_engagement_endpoints(harness: Harness) -> None:
    await seed(harness)
    weekly = await harness.get("/v1/engagement/active", granularity="week")
    assert [(p["period"], p["learners"]) for p in weekly["periods"]] == [
        ("2026-03-02", 1),
        ("2026-03-09", 1),
    ]
    sessions = await harness.get("/v1/engagement/sessions", activity=AU)
    assert sessions["summary"]["terminated"] == 2
    assert sessions["summary"]["initialized"] == 2
    video = await harness.get("/v1/engagement/video")
    assert video[0]["reached"] == {"25%": 2, "50%": 2, "75%": 1, "100%": 1}
    dropoff = await harness.get("/v1/engagement/dropoff", activity=AU)
    assert dropoff[0]["funnel"]["dropped"] == 0 and dropoff[0]["funnel"]["launched"] == 2
    groups = await harness.get("/v1/groups")
    assert groups == [{"id": "g-eng", "display_name": "Engineering", "members": ["u-a"]}]


async def test_health_reports_consumer_positions(harness: Harness) -> None:
    await seed(harness)
    health = await harness.get("/v1/health")
    assert health["counts"]["analytics_voided_statements"] == 1
    assert {c["consumer"] for c in health["consumers"]} == {
        "analytics.statements",
        "analytics.directory",
    }


async def test_openapi_documents_every_route(harness: Harness) -> None:
    spec = await harness.get("/openapi.json")
    for path in (
        "/v1/learners",
        "/v1/learners/{actor}",
        "/v1/courses",
        "/v1/assessments/deltas",
        "/v1/engagement/active",
        "/v1/engagement/sessions",
        "/v1/engagement/video",
        "/v1/health",
    ):
        assert path in spec["paths"], path


async def test_account_actor_keys_with_slashes_and_pipes_round_trip(harness: Harness) -> None:
    body = statement("ignored@x.org", "completed", AU)
    body["actor"] = {"account": {"homePage": "https://idp.example.org/", "name": "emp 42"}}
    key = "account:https://idp.example.org/|emp 42"
    await harness.log.publish(
        [FakeEvent("xapi.statement.stored", key, {"store": "s", "statement": body})]
    )
    await harness.catch_up()
    learner = await harness.get("/v1/learners/" + quote(key, safe=""))
    assert learner["actor"] == key and learner["completed"] == 1


async def test_breakdown_of_one_course_by_group_and_manager(harness: Harness) -> None:
    await seed(harness)
    by_group = await harness.get("/v1/courses/breakdown", activity=AU, by="group")
    assert [(c["cut"], c["summary"]["enrolments"]) for c in by_group] == [("g-eng", 1)]
    by_manager = await harness.get("/v1/courses/breakdown", activity=AU, by="manager")
    assert [c["cut"] for c in by_manager] == ["m-1", "m-2"]
    assert all(c["summary"]["completion_rate"] == 1.0 for c in by_manager)
    missing = await harness.client.get("/v1/courses/breakdown", params={"by": "group"})
    assert missing.status_code == 400


async def test_as_of_shows_a_voided_statement_until_its_voiding(harness: Harness) -> None:
    await seed(harness)  # a's bogus pass on day 1 is voided on day 30
    path = "/v1/learners/" + quote("mbox:mailto:a@x.org", safe="")
    now = await harness.get(path)
    before_voiding = await harness.get(path, as_of="2026-03-05T00:00:00Z")
    after_voiding = await harness.get(path, as_of="2026-04-02T00:00:00Z")
    assert (now["passed"], now["last_score"]) == (1, 0.8)
    assert (before_voiding["passed"], before_voiding["last_score"]) == (2, 0.1)
    assert after_voiding == now
    before_start = await harness.client.get(path, params={"as_of": "2026-03-01T00:00:00Z"})
    assert before_start.status_code == 404
