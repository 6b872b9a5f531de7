"""Pure domain rules, no I/O: durations, evidence, state evaluation, transitions, entitlements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from learnproof_identity.domain.actors import LinkRule, actor_key, keys_for_user
from learnproof_identity.domain.compliance import (
    Evidence,
    Snapshot,
    Status,
    Subject,
    decide_entitlement,
    evaluate,
    evidence_from_statement,
    transitions,
)
from learnproof_identity.domain.directory import DirectoryUser
from learnproof_identity.domain.errors import InvalidDefinition
from learnproof_identity.domain.requirements import (
    Duration,
    Entitlement,
    Requirement,
    requirement_from_dict,
)

T = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
COURSE = "https://courses.test/c"


def req(**overrides: object) -> Requirement:
    raw: dict[str, object] = {
        "id": "r",
        "activity": COURSE,
        "audience": {"groups": ["G"]},
        "due": {"from": "assignment", "within": "P30D"},
        "recurrence": "P1Y",
        "expiring_within": "P30D",
        "grace": "P7D",
    }
    raw.update(overrides)
    return requirement_from_dict(raw)


def ev(verb: str, at: datetime, sid: str = "s1", registration: str | None = None) -> Evidence:
    return Evidence(sid, verb, COURSE, registration, at)


def test_durations_follow_the_calendar() -> None:
    assert Duration.parse("P1M").after(T) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert Duration.parse("P1Y").after(datetime(2028, 2, 29, tzinfo=UTC)).day == 28
    assert Duration.parse("P1Y2M3DT4H5M6S").after(T) == datetime(2027, 4, 3, 16, 5, 6, tzinfo=UTC)
    assert Duration.parse("P2W").before(T) == T - timedelta(days=14)
    for bad in ("", "P", "1Y", "PT", "P1.5Y"):
        with pytest.raises(InvalidDefinition):
            Duration.parse(bad)


def test_requirement_definitions_are_checked() -> None:
    with pytest.raises(InvalidDefinition):
        requirement_from_dict({"id": "x", "activity": COURSE})  # no audience
    with pytest.raises(InvalidDefinition):
        req(due={"from": "fixed"})
    with pytest.raises(InvalidDefinition):
        req(move_on="Sometimes")
    fixed = req(due={"from": "fixed", "on": "2026-06-30T00:00:00Z"})
    assert fixed.due_on == datetime(2026, 6, 30, tzinfo=UTC)


def test_evidence_from_statements() -> None:
    base = {
        "id": "a",
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
        "object": {"id": COURSE},
        "timestamp": "2026-01-31T12:00:00Z",
        "context": {"registration": "reg"},
    }
    found = evidence_from_statement(base)
    assert found == Evidence("a", "passed", COURSE, "reg", T)
    assert evidence_from_statement({**base, "verb": {"id": "http://x/failed"}}) is None
    agent_object = {**base, "object": {"objectType": "Agent", "mbox": "mailto:a@b"}}
    assert evidence_from_statement(agent_object) is None


@pytest.mark.parametrize(
    ("move_on", "verbs", "satisfied"),
    [
        ("Completed", ["completed"], True),
        ("Completed", ["passed"], False),
        ("Passed", ["passed"], True),
        ("Passed", ["completed"], False),
        ("CompletedOrPassed", ["passed"], True),
        ("CompletedAndPassed", ["completed"], False),
        ("CompletedAndPassed", ["completed", "passed"], True),
        ("Passed", ["satisfied"], True),  # cmi5 satisfied always counts
        ("Satisfied", ["completed", "passed"], False),
    ],
)
def test_move_on_rules(move_on: str, verbs: list[str], satisfied: bool) -> None:
    evidence = [ev(v, T + timedelta(hours=i), f"s{i}", "reg") for i, v in enumerate(verbs)]
    state = evaluate(req(move_on=move_on), Subject(T), evidence, T + timedelta(days=1))
    assert (state.status is Status.satisfied) is satisfied


def test_completed_and_passed_pairs_within_one_registration() -> None:
    evidence = [ev("completed", T, "c", "r1"), ev("passed", T + timedelta(hours=1), "p", "r2")]
    state = evaluate(req(move_on="CompletedAndPassed"), Subject(T), evidence, T)
    assert state.status is Status.assigned
    evidence.append(ev("passed", T + timedelta(hours=2), "p1", "r1"))
    state = evaluate(req(move_on="CompletedAndPassed"), Subject(T), evidence, T)
    assert state.status is Status.satisfied and state.evidence == ("c", "p1")
    assert state.satisfied_at == T + timedelta(hours=2)


def test_status_along_the_clock() -> None:
    r = req()
    subject = Subject(T)
    assert evaluate(r, subject, [], T).status is Status.assigned
    overdue = evaluate(r, subject, [], T + timedelta(days=30))
    assert overdue.status is Status.overdue and overdue.effective_at == T + timedelta(days=30)
    done = [ev("completed", T + timedelta(days=40))]
    expires = datetime(2027, 3, 12, 12, 0, tzinfo=UTC)
    sat = evaluate(r, subject, done, T + timedelta(days=41))
    assert (sat.status, sat.expires_at) == (Status.satisfied, expires)
    warn = evaluate(r, subject, done, expires - timedelta(days=29))
    assert warn.status is Status.expiring and warn.effective_at == expires - timedelta(days=30)
    gone = evaluate(r, subject, done, expires)
    assert gone.status is Status.expired and gone.effective_at == expires
    voided = [Evidence("s1", "completed", COURSE, None, T + timedelta(days=40), voided=True)]
    assert evaluate(r, subject, voided, T + timedelta(days=41)).status is Status.overdue


def test_lookback_and_due_rules() -> None:
    before = [ev("completed", T - timedelta(days=20))]
    assert evaluate(req(), Subject(T), before, T).status is Status.assigned
    credited = evaluate(req(lookback="P1M"), Subject(T), before, T)
    assert credited.status is Status.satisfied and credited.effective_at == T
    hired = T - timedelta(days=25)
    by_hire = req(due={"from": "hire_date", "within": "P30D"})
    state = evaluate(by_hire, Subject(T, hire_date=hired), [], T)
    assert state.due_at == hired + timedelta(days=30)
    fixed = req(due={"from": "fixed", "on": "2026-01-01T00:00:00Z"})
    assert evaluate(fixed, Subject(T), [], T).status is Status.overdue
    role = req(due={"from": "role_change", "within": "P10D"})
    moved = evaluate(role, Subject(T, role_changed_at=T + timedelta(days=5)), [], T)
    assert moved.due_at == T + timedelta(days=15)


def test_transitions() -> None:
    assigned = Snapshot(Status.assigned, T, T + timedelta(days=30))
    satisfied = Snapshot(Status.satisfied, T, T, T, T + timedelta(days=365), ("s1",))
    assert [t.kind for t in transitions(None, assigned, T)] == ["assigned"]
    assert [t.kind for t in transitions(None, satisfied, T)] == ["assigned", "satisfied"]
    assert transitions(assigned, assigned, T) == []
    assert [t.kind for t in transitions(assigned, satisfied, T)] == ["satisfied"]
    renewed = Snapshot(Status.satisfied, T, T, T, T, ("s2",))
    assert [t.kind for t in transitions(satisfied, renewed, T)] == ["satisfied"]
    overdue = Snapshot(Status.overdue, T, T)
    assert [t.kind for t in transitions(satisfied, overdue, T)] == ["reopened", "overdue"]
    assert [t.kind for t in transitions(satisfied, assigned, T)] == ["reopened"]


def test_entitlement_decisions() -> None:
    r = req()
    ent = Entitlement("ai-prod-access", ("r",))
    reqs = {"r": r}
    sat = Snapshot(Status.satisfied, T, T, T, T + timedelta(days=365), ("s1",))
    d = decide_entitlement(ent, reqs, {"r": sat}, False, T)
    assert d.granted and d.evidence == ("s1",)
    assert not decide_entitlement(ent, reqs, {"r": None}, False, T).granted
    reopened = Snapshot(Status.overdue, T, T)
    within = decide_entitlement(ent, reqs, {"r": reopened}, True, T + timedelta(days=6))
    assert within.granted
    past = decide_entitlement(ent, reqs, {"r": reopened}, True, T + timedelta(days=7))
    assert not past.granted and past.effective_at == T + timedelta(days=7)
    assert not decide_entitlement(ent, reqs, {"r": reopened}, False, T).granted


def test_actor_keys_and_link_rules() -> None:
    assert actor_key({"mbox": "mailto:A@B.com"}) == "mbox:mailto:a@b.com"
    assert (
        actor_key({"account": {"homePage": "https://idp", "name": "x"}}) == "account:https://idp|x"
    )
    assert actor_key({"openid": "https://id/x"}) == "openid:https://id/x"
    assert actor_key({"name": "nobody"}) is None
    user = DirectoryUser("u1", "ada", "00u1", None, True, ("ada@acme.com",), None, None, None, T)
    rules = [
        LinkRule("acct", "account", "https://idp", "externalId"),
        LinkRule("oid", "openid", template="https://id.acme.com/{userName}"),
        LinkRule("mail", "mbox"),
    ]
    assert keys_for_user(user, rules) == {
        "account:https://idp|00u1": "acct",
        "openid:https://id.acme.com/ada": "oid",
        "mbox:mailto:ada@acme.com": "mail",
    }


def test_equality_hint_narrows_only_what_the_filter_requires() -> None:
    from learnproof_identity.domain.scim import ScimUser, equality_hint, parse_filter

    def hint(text: str) -> tuple[str, str] | None:
        return equality_hint(parse_filter(ScimUser, text))

    assert hint('userName eq "a"') == ("userName", "a")
    assert hint('active eq true and externalId eq "x"') == ("externalId", "x")
    assert hint('userName eq "a" or userName eq "b"') is None
    assert hint('not (userName eq "a")') is None
    assert hint('emails.value eq "a@b"') is None
    assert hint('title eq "x"') is None
