"""A generated training cohort and its expected figures, computed in plain Python.

The expected figures restate the definitions of the service README over the generated records;
they never call the service's own code.
"""

from __future__ import annotations

import math
import random
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from analytics_statements import (
    ASSESSMENT_TYPE,
    T0,
    FakeEvent,
    statement,
    stored_event,
    voided_event,
)

COURSE = "https://example.org/courses/ai-act-essentials"
AU = COURSE + "/au/core"
PRE = COURSE + "/pretest"
POST = COURSE + "/posttest"
VIDEO = "https://example.org/videos/ai-act-intro"
GROUPS = [f"g-{k}" for k in range(4)]
MANAGERS = [f"m-{k}" for k in range(6)]


@dataclass
class Record:
    """What the generator put in one statement (the ground truth for the expected figures)."""

    statement_id: str
    actor: str
    verb: str
    activity: str
    at: datetime
    registration: str | None = None
    session: str | None = None
    score: float | None = None
    duration: float | None = None
    progress: float | None = None
    role: str | None = None
    voided: bool = False


@dataclass
class Cohort:
    """Generated learners, directory and statements."""

    records: list[Record] = field(default_factory=list)
    directory: list[FakeEvent] = field(default_factory=list)
    statements: list[FakeEvent] = field(default_factory=list)
    groups_of: dict[str, list[str]] = field(default_factory=dict)
    manager_of: dict[str, str] = field(default_factory=dict)

    @property
    def live(self) -> list[Record]:
        return [r for r in self.records if not r.voided]


def _grid(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def generate(learners: int = 240, seed: int = 20261203) -> Cohort:
    """A cohort of ``learners`` over two weeks, with every case the figures must handle."""
    rng = random.Random(seed)
    cohort = Cohort()
    members: dict[str, list[str]] = defaultdict(list)
    for i in range(learners):
        for group in _learner(rng, cohort, i):
            members[group].append(f"u-{i:03d}")
    for group in GROUPS:
        # First pushed with half its members, then replaced by the full list (Okta Group Push).
        for listed in (members[group][::2], members[group]):
            cohort.directory.append(
                FakeEvent(
                    "identity.group.upserted",
                    group,
                    {"group": {"id": group, "displayName": group.upper(), "members": listed}},
                )
            )
    return cohort


def _learner(rng: random.Random, cohort: Cohort, i: int) -> list[str]:
    email = f"learner{i:03d}@example.org"
    actor = f"mbox:mailto:{email}"
    user = f"u-{i:03d}"
    groups = [GROUPS[i % 4]] + ([GROUPS[(i + 1) % 4]] if i % 7 == 0 else [])
    manager = MANAGERS[i % 6]
    cohort.directory.append(
        FakeEvent(
            "identity.user.upserted",
            user,
            {"user": {"id": user, "userName": email, "managerId": manager, "active": True}},
        )
    )
    if i % 40 != 39:  # a few actors stay unlinked: they count overall, in no group
        cohort.directory.append(
            FakeEvent("identity.actor.linked", user, {"user_id": user, "actor": actor})
        )
        cohort.groups_of[actor] = groups
        cohort.manager_of[actor] = manager
    registration = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    clock = [T0 + timedelta(days=rng.randrange(0, 14), hours=rng.randrange(0, 10))]

    def emit(verb: str, activity: str, **kw: Any) -> Record:
        clock[0] += timedelta(minutes=rng.randint(1, 30))
        record = Record(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            actor,
            verb,
            activity,
            clock[0],
            **kw,
        )
        cohort.records.append(record)
        return record

    pre_score = 1.0 if i % 25 == 0 else _grid(rng, 0.0, 0.9)
    if i % 20 != 3:  # some never took the pre-test
        emit(
            "failed" if pre_score < 0.8 else "passed",
            PRE,
            registration=registration,
            score=pre_score,
            duration=rng.randint(60, 600),
            role="pretest",
        )
    sessions = rng.randint(1, 3)
    for s in range(sessions):
        session = f"{registration}-{s}"
        total = rng.randint(600, 3600)
        emit("launched", AU, registration=registration, session=session)
        emit("initialized", AU, registration=registration, session=session)
        last = s == sessions - 1
        if last and rng.random() < 0.8:
            emit(
                "completed",
                AU,
                registration=registration,
                session=session,
                duration=total - rng.randint(1, 500),
            )
        if rng.random() < 0.6:
            score = _grid(rng, 0.2, 1.0)
            emit(
                "passed" if score >= 0.6 else "failed",
                AU,
                registration=registration,
                session=session,
                score=score,
                duration=total - rng.randint(1, 500),
            )
        ending = rng.choice(["terminated", "terminated", "abandoned", "open"])
        if ending != "open":
            emit(
                ending,
                AU,
                registration=registration,
                session=session,
                duration=total if ending == "terminated" or rng.random() < 0.5 else None,
            )
        clock[0] += timedelta(days=rng.randint(0, 2))
    if i % 8 != 5:  # some never took the post-test
        post_score = min(1.0, max(0.0, round(pre_score + rng.uniform(-0.1, 0.5), 2)))
        emit(
            "passed" if post_score >= 0.6 else "failed",
            POST,
            registration=registration,
            score=post_score,
            duration=rng.randint(60, 600),
            role="posttest",
        )
        if i % 9 == 0:  # a retake: the latest post-test counts
            emit(
                "passed",
                POST,
                registration=registration,
                score=_grid(rng, 0.6, 1.0),
                duration=rng.randint(60, 600),
                role="posttest",
            )
    for _ in range(rng.randint(0, 3)):
        emit("played", VIDEO, progress=_grid(rng, 0.05, 1.0))
    if i % 6 == 0:  # a wrongly sent pass, voided later
        emit("passed", AU, registration=registration, score=0.01, duration=99999).voided = True
    if i % 30 == 1:  # even a real completion can be voided
        completions = [r for r in cohort.records if r.actor == actor and r.verb == "completed"]
        if completions:
            completions[0].voided = True
    return groups


def events(cohort: Cohort) -> list[FakeEvent]:
    """Directory events, then every statement (voided ones too), then the voidings."""
    stored: list[FakeEvent] = []
    voidings: list[FakeEvent] = []
    for r in cohort.records:
        extra: dict[str, Any] = {}
        if r.role is not None:
            extra = {"activity_type": ASSESSMENT_TYPE, "assessment": r.role, "parent": COURSE}
        elif r.activity == AU:
            extra = {"parent": COURSE}
        body = statement(
            r.actor.removeprefix("mbox:mailto:"),
            r.verb,
            r.activity,
            r.at,
            statement_id=r.statement_id,
            registration=r.registration,
            session=r.session,
            score=r.score,
            duration=r.duration,
            progress=r.progress,
            **extra,
        )
        stored.append(stored_event(body))
        if r.voided:
            voidings.append(voided_event(body, voided_at(r)))
    return cohort.directory + stored + voidings


def voided_at(record: Record) -> datetime:
    """When the generator's voiding statement for a voided record is timestamped."""
    return record.at + timedelta(days=1)


def snapshot(cohort: Cohort, moment: datetime) -> Cohort:
    """The cohort as it stood at ``moment``: later statements absent, later voidings undone."""
    records = [
        replace(r, voided=r.voided and voided_at(r) <= moment)
        for r in cohort.records
        if r.at <= moment
    ]
    return replace(cohort, records=records)


# ---- expected figures (plain Python restatement of the README definitions) -------------------


def session_key(r: Record) -> str:
    if r.session is not None:
        return "s:" + r.session
    if r.registration is not None:
        return "r:" + r.registration
    return "x:" + r.statement_id


def session_seconds(records: list[Record]) -> float | None:
    ending = [
        r.duration
        for r in records
        if r.verb in ("terminated", "abandoned") and r.duration is not None
    ]
    if ending:
        return max(ending)
    others = [r.duration for r in records if r.duration is not None]
    return max(others) if others else None


def time_spent(records: list[Record]) -> float | None:
    sessions: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        sessions[session_key(r)].append(r)
    times = [t for rs in sessions.values() if (t := session_seconds(rs)) is not None]
    return sum(times) if times else None


def expected_learners(cohort: Cohort) -> dict[str, dict[str, Any]]:
    by_actor: dict[str, list[Record]] = defaultdict(list)
    for r in cohort.live:
        by_actor[r.actor].append(r)
    result = {}
    for actor, rs in by_actor.items():
        activities = {r.activity for r in rs}
        passed = {a for a in activities if any(r.verb == "passed" and r.activity == a for r in rs)}
        failed = {
            a
            for a in activities
            if a not in passed and any(r.verb == "failed" and r.activity == a for r in rs)
        }
        scored = [r for r in rs if r.score is not None]
        result[actor] = {
            "attempted": len(activities),
            "completed": len({r.activity for r in rs if r.verb == "completed"}),
            "passed": len(passed),
            "failed": len(failed),
            "best_score": max((r.score for r in scored), default=None),
            "last_score": max(scored, key=lambda r: r.at).score if scored else None,
            "time_spent_s": time_spent(rs) or 0.0,
            "sessions": len({session_key(r) for r in rs}),
            "statements": len(rs),
            "first_activity": min(r.at for r in rs),
            "last_activity": max(r.at for r in rs),
        }
    return result


def expected_activity(
    cohort: Cohort, activity: str, actors: set[str] | None = None
) -> dict[str, Any]:
    enrolments: dict[tuple[str, str | None], list[Record]] = defaultdict(list)
    for r in cohort.live:
        if r.activity == activity and (actors is None or r.actor in actors):
            enrolments[(r.actor, r.registration)].append(r)
    completed = passed = failed = 0
    best: list[float] = []
    times: list[float] = []
    to_complete: list[float] = []
    for rs in enrolments.values():
        verbs = {r.verb for r in rs}
        completed += "completed" in verbs
        passed += "passed" in verbs
        failed += "failed" in verbs and "passed" not in verbs
        scores = [r.score for r in rs if r.score is not None]
        if scores:
            best.append(max(scores))
        spent = time_spent(rs)
        if spent is not None:
            times.append(spent)
        completions = sorted(r.at for r in rs if r.verb == "completed")
        if completions:
            to_complete.append((completions[0] - min(r.at for r in rs)).total_seconds())
    n = len(enrolments)
    return {
        "enrolments": n,
        "completed": completed,
        "completion_rate": completed / n if n else None,
        "passed": passed,
        "failed": failed,
        "pass_rate": passed / (passed + failed) if passed + failed else None,
        "scores_median": statistics.median(best) if best else None,
        "scores_mean": statistics.fmean(best) if best else None,
        "time_n": len(times),
        "time_median": statistics.median(times) if times else None,
        "time_total": sum(times),
        "median_time_to_complete_s": statistics.median(to_complete) if to_complete else None,
    }


def expected_deltas(cohort: Cohort, actors: set[str] | None = None) -> dict[str, Any]:
    pres: dict[tuple[str, str | None], list[Record]] = defaultdict(list)
    posts: dict[tuple[str, str | None], list[Record]] = defaultdict(list)
    for r in cohort.live:
        if r.role is not None and r.score is not None and (actors is None or r.actor in actors):
            (pres if r.role == "pretest" else posts)[(r.actor, r.registration)].append(r)
    complete = []
    for key in set(pres) & set(posts):
        pre = min(pres[key], key=lambda r: r.at).score
        post = max(posts[key], key=lambda r: r.at).score
        complete.append((pre, post))
    diffs = [post - pre for pre, post in complete]
    gains = [(post - pre) / (1 - pre) for pre, post in complete if pre < 1]
    mean_pre = statistics.fmean(p for p, _ in complete) if complete else None
    mean_post = statistics.fmean(q for _, q in complete) if complete else None
    sd = statistics.stdev(diffs) if len(diffs) >= 2 else None
    return {
        "pairs": len(complete),
        "missing_post": len(set(pres) - set(posts)),
        "missing_pre": len(set(posts) - set(pres)),
        "undefined_gain": sum(1 for pre, _ in complete if pre >= 1),
        "mean_delta": statistics.fmean(diffs) if diffs else None,
        "mean_gain": statistics.fmean(gains) if gains else None,
        "class_average_gain": (
            (mean_post - mean_pre) / (1 - mean_pre)
            if mean_pre is not None and mean_post is not None and mean_pre < 1
            else None
        ),
        "d_z": statistics.fmean(diffs) / sd if sd else None,
    }


def expected_active(cohort: Cohort, weekly: bool) -> dict[date, int]:
    actors: dict[date, set[str]] = defaultdict(set)
    for r in cohort.live:
        day = r.at.date()
        if weekly:
            day = day - timedelta(days=day.weekday())
        actors[day].add(r.actor)
    return {d: len(a) for d, a in actors.items()}


def expected_sessions(cohort: Cohort) -> dict[str, int]:
    sessions: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in cohort.live:
        sessions[(r.actor, session_key(r))].append(r)
    counts = {"sessions": len(sessions), "initialized": 0, "terminated": 0, "abandoned": 0}
    for rs in sessions.values():
        counts["initialized"] += any(r.verb == "initialized" for r in rs)
        endings = sorted(
            (r for r in rs if r.verb in ("terminated", "abandoned")), key=lambda r: r.at
        )
        if endings:
            counts[endings[-1].verb] += 1
    counts["open"] = counts["sessions"] - counts["terminated"] - counts["abandoned"]
    return counts


def expected_video(cohort: Cohort) -> dict[str, int]:
    furthest: dict[str, float] = {}
    for r in cohort.live:
        if r.progress is not None:
            furthest[r.actor] = max(furthest.get(r.actor, 0.0), r.progress)
    return {
        "learners": len(furthest),
        "25%": sum(p >= 0.25 for p in furthest.values()),
        "50%": sum(p >= 0.5 for p in furthest.values()),
        "75%": sum(p >= 0.75 for p in furthest.values()),
        "100%": sum(p >= 1.0 for p in furthest.values()),
    }


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
