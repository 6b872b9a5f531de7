"""Unit tests of the analytics folds and figures, in memory, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from analytics_statements import (
    ASSESSMENT_TYPE,
    FakeEvent,
    statement,
    stored_event,
    voided_event,
)

from learnproof_analytics.domain.activities import activity_summary
from learnproof_analytics.domain.assessments import (
    AssessmentConfig,
    assessment_pairs,
    delta_summary,
)
from learnproof_analytics.domain.engagement import active_learners, session_summary, video_progress
from learnproof_analytics.domain.facts import fact_from_statement, parse_duration, parse_timestamp
from learnproof_analytics.domain.learners import learner_progress
from learnproof_analytics.domain.projection import ReadModel, SkipStatement, changes_for
from learnproof_analytics.domain.sessions import session_time, sessions_of
from learnproof_analytics.domain.stats import score_histogram

AU = "https://example.org/course/ai-ethics/au/1"
PRE = "https://example.org/course/ai-ethics/pretest"
POST = "https://example.org/course/ai-ethics/posttest"
COURSE = "https://example.org/course/ai-ethics"


def fold(*events: FakeEvent) -> ReadModel:
    model = ReadModel()
    model.apply_events(list(events))
    return model


def facts_of(model: ReadModel) -> list:
    return list(model.facts.values())


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H2M3.5S", 3723.5),
        ("PT0S", 0.0),
        ("P1DT1S", 86401.0),
        ("PT90M", 5400.0),
        ("P1W", 604800.0),
        ("PT0,5S", 0.5),
    ],
)
def test_parse_duration_reads_iso8601(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["P", "PT", "1H", "PT1X", "P1DT"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    assert parse_duration(text) is None


def test_parse_timestamp_truncates_nanoseconds_and_converts_to_utc() -> None:
    parsed = parse_timestamp("2026-03-02T10:00:00.123456789+01:00")
    assert parsed == datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def test_stored_statement_becomes_a_fact_with_session_and_registration() -> None:
    body = statement(
        "a@x.org", "completed", AU, registration="R1", session="S1", duration=60, parent=COURSE
    )
    fact = fact_from_statement(body, "store1", fallback_actor="mbox:mailto:a@x.org")
    assert fact is not None
    assert fact.verb_kind == "completed"
    assert fact.session_key == "session:S1"
    assert fact.registration == "r1"
    assert fact.duration_s == 60.0
    assert fact.context_activities == (COURSE,)


def test_voiding_statement_and_statement_refs_are_not_facts() -> None:
    voiding = statement("a@x.org", "voided", AU)
    voiding["object"] = {"objectType": "StatementRef", "id": "abc"}
    assert fact_from_statement(voiding, "s") is None


def test_unreadable_statement_is_skipped_not_raised() -> None:
    body = statement("a@x.org", "completed", AU)
    del body["timestamp"], body["stored"]
    changes = changes_for([stored_event(body)])
    assert len(changes) == 1 and isinstance(changes[0], SkipStatement)


def test_voided_removes_the_statement_whatever_the_order() -> None:
    kept = statement("a@x.org", "completed", AU, registration="R1")
    voided = statement("a@x.org", "passed", AU, registration="R1", score=0.9)
    in_order = fold(stored_event(kept), stored_event(voided), voided_event(voided))
    voided_first = fold(voided_event(voided), stored_event(kept), stored_event(voided))
    assert set(in_order.facts) == set(voided_first.facts) == {("default", kept["id"])}


def test_redelivered_events_change_nothing() -> None:
    body = statement("a@x.org", "completed", AU, registration="R1")
    once = fold(stored_event(body))
    twice = fold(stored_event(body), stored_event(body))
    assert once.facts == twice.facts


def test_session_time_prefers_the_ending_statement_over_partial_durations() -> None:
    facts = [
        fact_from_statement(statement("a@x.org", verb, AU, session="S", duration=d), "s")
        for verb, d in [("completed", 100), ("passed", 120), ("terminated", 150)]
    ]
    assert session_time([f for f in facts if f is not None]) == 150.0


def test_session_time_of_an_unended_session_is_its_largest_duration() -> None:
    facts = [
        fact_from_statement(statement("a@x.org", verb, AU, session="S", duration=d), "s")
        for verb, d in [("completed", 100), ("failed", 80)]
    ]
    assert session_time([f for f in facts if f is not None]) == 100.0


def test_learner_progress_counts_outcomes_scores_and_session_time() -> None:
    other = "https://example.org/course/other"
    events = [
        stored_event(statement("a@x.org", "initialized", AU, timedelta(0), session="S1")),
        stored_event(
            statement("a@x.org", "failed", AU, timedelta(minutes=5), session="S1", score=0.4)
        ),
        stored_event(
            statement("a@x.org", "terminated", AU, timedelta(minutes=6), session="S1", duration=360)
        ),
        stored_event(
            statement(
                "a@x.org", "passed", AU, timedelta(days=1), session="S2", score=0.8, duration=200
            )
        ),
        stored_event(
            statement("a@x.org", "completed", AU, timedelta(days=1, minutes=1), session="S2")
        ),
        stored_event(
            statement("a@x.org", "failed", other, timedelta(days=2), session="S3", score=0.2)
        ),
        stored_event(
            statement("a@x.org", "passed", other, timedelta(days=3), session="S4", score=0.1)
        ),
    ]
    model = fold(*events)
    progress = learner_progress("mbox:mailto:a@x.org", facts_of(model))
    assert (progress.attempted, progress.completed, progress.passed, progress.failed) == (
        2,
        1,
        2,
        0,
    )
    assert progress.best_score == 0.8
    assert progress.last_score == 0.1  # the latest scored statement, not the best one
    assert progress.time_spent_s == 560.0  # 360 (terminated) + 200 (unended S2)
    assert progress.sessions == 4
    assert progress.first_activity == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_failed_means_failed_and_never_passed() -> None:
    model = fold(
        stored_event(statement("a@x.org", "failed", AU, score=0.3)),
        stored_event(statement("b@x.org", "failed", AU, score=0.3)),
        stored_event(statement("b@x.org", "passed", AU, timedelta(hours=1), score=0.9)),
    )
    summary = activity_summary(AU, facts_of(model))
    assert (summary.passed, summary.failed, summary.pass_rate) == (1, 1, 0.5)


def test_activity_summary_rates_distributions_and_time_to_complete() -> None:
    events = []
    for i, (completes, score, duration) in enumerate(
        [(True, 0.95, 600), (True, 0.7, 1200), (False, 0.3, 300), (False, None, None)]
    ):
        reg = f"reg-{i}"
        email = f"l{i}@x.org"
        events.append(
            stored_event(statement(email, "launched", AU, timedelta(0), registration=reg))
        )
        if score is not None:
            verb = "passed" if score >= 0.5 else "failed"
            events.append(
                stored_event(
                    statement(
                        email, verb, AU, timedelta(hours=i + 1), registration=reg, score=score
                    )
                )
            )
        if completes:
            events.append(
                stored_event(
                    statement(email, "completed", AU, timedelta(hours=2 * i + 1), registration=reg)
                )
            )
        if duration is not None:
            events.append(
                stored_event(
                    statement(
                        email,
                        "terminated",
                        AU,
                        timedelta(hours=3),
                        registration=reg,
                        duration=duration,
                    )
                )
            )
    summary = activity_summary(AU, facts_of(fold(*events)))
    assert (summary.enrolments, summary.registrations, summary.learners) == (4, 4, 4)
    assert summary.completion_rate == 0.5
    assert summary.pass_rate == pytest.approx(2 / 3)
    assert summary.scores.n == 3 and summary.scores.median == 0.7
    assert summary.score_histogram == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1]
    assert summary.time_spent.n == 3 and summary.time_spent.median == 600.0
    assert summary.median_time_to_complete_s == (3600 + 3 * 3600) / 2
    assert (summary.funnel.launched, summary.funnel.dropped) == (4, 2)
    assert summary.funnel.drop_off_rate == 0.5


def test_score_histogram_puts_boundaries_in_the_upper_bin() -> None:
    assert score_histogram([0.7, 1.0, 0.0, -0.2, 0.1]) == [1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1]


def assessment_event(email: str, which: str, score: float, at: timedelta, reg: str) -> FakeEvent:
    return stored_event(
        statement(
            email,
            "passed" if score >= 0.5 else "failed",
            PRE if which == "pretest" else POST,
            at,
            registration=reg,
            score=score,
            activity_type=ASSESSMENT_TYPE,
            assessment=which,
            parent=COURSE,
        )
    )


def test_assessment_deltas_hake_gain_and_effect_size() -> None:
    model = fold(
        assessment_event("a@x.org", "pretest", 0.2, timedelta(0), "r-a"),
        assessment_event("a@x.org", "pretest", 0.9, timedelta(hours=1), "r-a"),  # later pre ignored
        assessment_event("a@x.org", "posttest", 0.5, timedelta(days=1), "r-a"),
        assessment_event("a@x.org", "posttest", 0.6, timedelta(days=2), "r-a"),  # latest post wins
        assessment_event("b@x.org", "pretest", 0.5, timedelta(0), "r-b"),
        assessment_event("b@x.org", "posttest", 0.9, timedelta(days=1), "r-b"),
        assessment_event("c@x.org", "pretest", 1.0, timedelta(0), "r-c"),
        assessment_event("c@x.org", "posttest", 1.0, timedelta(days=1), "r-c"),
        assessment_event("d@x.org", "pretest", 0.4, timedelta(0), "r-d"),  # no post
        assessment_event("e@x.org", "posttest", 0.7, timedelta(days=1), "r-e"),  # no pre
    )
    pairs = assessment_pairs(facts_of(model), AssessmentConfig())
    assert (pairs[0].actor, pairs[0].pre, pairs[0].post) == ("mbox:mailto:a@x.org", 0.2, 0.6)
    summary = delta_summary(pairs)
    assert (summary.pairs, summary.missing_post, summary.missing_pre) == (3, 1, 1)
    assert summary.undefined_gain == 1 and summary.gain_n == 2
    assert summary.mean_gain == pytest.approx((0.4 / 0.8 + 0.4 / 0.5) / 2)
    mean_pre, mean_post = (0.2 + 0.5 + 1.0) / 3, (0.6 + 0.9 + 1.0) / 3
    assert summary.class_average_gain == pytest.approx((mean_post - mean_pre) / (1 - mean_pre))
    diffs = [0.4, 0.4, 0.0]
    mean_d = sum(diffs) / 3
    sd = (sum((d - mean_d) ** 2 for d in diffs) / 2) ** 0.5
    assert summary.d_z == pytest.approx(mean_d / sd)


def test_delta_summary_of_identical_differences_has_no_effect_size() -> None:
    model = fold(
        assessment_event("a@x.org", "pretest", 0.2, timedelta(0), "r-a"),
        assessment_event("a@x.org", "posttest", 0.5, timedelta(days=1), "r-a"),
        assessment_event("b@x.org", "pretest", 0.4, timedelta(0), "r-b"),
        assessment_event("b@x.org", "posttest", 0.7, timedelta(days=1), "r-b"),
    )
    summary = delta_summary(assessment_pairs(facts_of(model), AssessmentConfig()))
    assert summary.sd_delta == pytest.approx(0.0) and summary.d_z is None


def test_configured_iris_recognise_assessments_without_the_convention() -> None:
    model = fold(
        stored_event(statement("a@x.org", "failed", "urn:pre", registration="r", score=0.1)),
        stored_event(
            statement(
                "a@x.org", "passed", "urn:post", timedelta(days=1), registration="r", score=0.7
            )
        ),
    )
    config = AssessmentConfig(frozenset({"urn:pre"}), frozenset({"urn:post"}))
    assert [(p.pre, p.post) for p in assessment_pairs(facts_of(model), config)] == [(0.1, 0.7)]
    assert assessment_pairs(facts_of(model), AssessmentConfig()) == []


def test_engagement_active_learners_sessions_and_video() -> None:
    video = "https://example.org/video/intro"
    model = fold(
        stored_event(statement("a@x.org", "initialized", AU, timedelta(0), session="S1")),
        stored_event(
            statement("a@x.org", "terminated", AU, timedelta(minutes=9), session="S1", duration=540)
        ),
        stored_event(statement("b@x.org", "initialized", AU, timedelta(days=1), session="S2")),
        stored_event(
            statement("b@x.org", "abandoned", AU, timedelta(days=1, hours=1), session="S2")
        ),
        stored_event(statement("c@x.org", "initialized", AU, timedelta(days=8), session="S3")),
        stored_event(statement("a@x.org", "played", video, timedelta(days=1), progress=0.3)),
        stored_event(statement("a@x.org", "played", video, timedelta(days=1), progress=0.8)),
        stored_event(statement("b@x.org", "played", video, timedelta(days=2), progress=100)),
    )
    facts = facts_of(model)
    days = active_learners(facts, "day")
    assert [(p.period, p.learners) for p in days] == [
        (date(2026, 3, 2), 1),
        (date(2026, 3, 3), 2),
        (date(2026, 3, 4), 1),
        (date(2026, 3, 10), 1),
    ]
    weeks = active_learners(facts, "week")
    assert [(p.period, p.learners) for p in weeks] == [(date(2026, 3, 2), 2), (date(2026, 3, 9), 1)]
    sessions = session_summary(sessions_of(f for f in facts if f.activity_id == AU))
    assert (sessions.sessions, sessions.terminated, sessions.abandoned, sessions.open) == (
        3,
        1,
        1,
        1,
    )
    [progress] = video_progress(facts)
    assert progress.learners == 2 and progress.mean_progress == pytest.approx(0.9)
    assert progress.reached == {"25%": 2, "50%": 2, "75%": 2, "100%": 1}


def test_directory_events_fold_into_users_groups_and_links() -> None:
    model = fold(
        FakeEvent("identity.user.upserted", "u1", {"user": {"id": "u1", "managerId": "m1"}}),
        FakeEvent("identity.user.upserted", "u2", {"user": {"id": "u2", "active": "False"}}),
        FakeEvent(
            "identity.group.upserted", "g1", {"group": {"id": "g1", "members": ["u2", "u1"]}}
        ),
        FakeEvent("identity.actor.linked", "u1", {"user_id": "u1", "actor": "mbox:mailto:a@x.org"}),
        FakeEvent("identity.actor.linked", "u2", {"user_id": "u2", "actor": "mbox:mailto:b@x.org"}),
        FakeEvent(
            "identity.actor.unlinked", "u2", {"user_id": "u2", "actor": "mbox:mailto:b@x.org"}
        ),
        FakeEvent("identity.user.deactivated", "u1", {"user_id": "u1"}),
    )
    assert model.users["u1"].manager_id == "m1" and model.users["u1"].active is False
    assert model.users["u2"].active is False
    assert model.groups["g1"].members == ("u1", "u2")
    assert model.links == {("mbox:mailto:a@x.org", "u1")}
    deleted = fold(
        FakeEvent("identity.group.upserted", "g1", {"group": {"id": "g1", "members": []}}),
        FakeEvent("identity.group.deleted", "g1", {"group_id": "g1"}),
    )
    assert deleted.groups == {}


def test_malformed_events_are_recorded_as_skipped_not_raised() -> None:
    model = fold(
        FakeEvent("xapi.statement.voided", "k", {"store": "s"}, id="e1"),
        FakeEvent("identity.user.upserted", "u", {"user": {"userName": "no id"}}, id="e2"),
        FakeEvent("identity.group.upserted", "g", {"group": None}, id="e3"),
        FakeEvent("something.else", "k", {}, id="e4"),
    )
    assert sorted(key[1] for key in model.skipped) == ["event:e1", "event:e2", "event:e3"]
    assert model.facts == {} and model.users == {}
