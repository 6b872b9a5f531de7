"""Public response models of the query API (pydantic v2, read from the domain dataclasses)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class Public(BaseModel):
    """Base of every response model: built from domain objects' attributes."""

    model_config = ConfigDict(from_attributes=True)


class DistributionPublic(Public):
    """Count, five-number summary, mean and total of a list of values."""

    n: int
    min: float | None
    p25: float | None
    median: float | None
    p75: float | None
    max: float | None
    mean: float | None
    total: float


class OutcomePublic(Public):
    """What a learner achieved on an activity; failed = failed and never passed."""

    completed: bool
    passed: bool
    failed: bool
    satisfied: bool
    waived: bool
    best_score: float | None = Field(description="Highest result.score.scaled.")
    last_score: float | None = Field(description="score.scaled of the latest scored statement.")


class LearnerActivityPublic(Public):
    """One learner's record on one activity."""

    activity_id: str
    outcome: OutcomePublic
    time_spent_s: float
    statements: int
    first: datetime
    last: datetime


class DirectoryUserPublic(Public):
    """A linked directory user."""

    id: str
    user_name: str | None
    display_name: str | None
    active: bool
    department: str | None
    manager_id: str | None


class LinkedUserPublic(Public):
    """A directory user the actor is linked to, with group ids."""

    user: DirectoryUserPublic
    groups: list[str]


class LearnerPublic(Public):
    """A learner's totals over the statements in view."""

    actor: str
    name: str | None
    attempted: int
    completed: int
    passed: int
    failed: int
    satisfied: int
    waived: int
    best_score: float | None
    last_score: float | None
    time_spent_s: float = Field(description="Sum of session times (see README).")
    sessions: int
    statements: int
    first_activity: datetime
    last_activity: datetime
    users: list[LinkedUserPublic] = []


class LearnerDetailPublic(LearnerPublic):
    """A learner with per-activity detail."""

    activities: list[LearnerActivityPublic]


class LearnerPage(BaseModel):
    """A page of learners."""

    items: list[LearnerPublic]
    next_cursor: str | None


class FunnelPublic(Public):
    """How far enrolments got; dropped = no completion, pass, satisfied or waiver."""

    enrolments: int
    launched: int
    initialized: int
    completed: int
    passed: int
    satisfied: int
    dropped: int
    drop_off_rate: float | None
    abandoned_sessions: int


class ActivityPublic(Public):
    """Figures of one activity (course, AU, assessment)."""

    activity_id: str
    learners: int
    enrolments: int = Field(description="Distinct (learner, registration) pairs.")
    registrations: int
    completed: int
    completion_rate: float | None
    passed: int
    failed: int
    pass_rate: float | None = Field(description="passed / (passed + failed) enrolments.")
    satisfied: int
    waived: int
    scores: DistributionPublic = Field(description="Best score.scaled per enrolment.")
    score_histogram: list[int] = Field(
        description="Best scores: below 0, then [0,.1) ... [.9,1.0] (eleven bins)."
    )
    time_spent: DistributionPublic = Field(description="Session time per enrolment, seconds.")
    median_time_to_complete_s: float | None
    funnel: FunnelPublic


class ActivityPage(BaseModel):
    """A page of activities."""

    items: list[ActivityPublic]
    next_cursor: str | None


class CutActivity(BaseModel):
    """One activity's figures for one group or manager."""

    cut: str = Field(description="Group id or manager user id.")
    summary: ActivityPublic


class DeltaSummaryPublic(Public):
    """Cohort pre/post figures; undefined cases counted, never divided by zero."""

    pairs: int
    missing_post: int
    missing_pre: int
    undefined_gain: int = Field(description="Complete pairs with pre = 1 (Hake's g undefined).")
    mean_pre: float | None
    mean_post: float | None
    mean_delta: float | None
    sd_delta: float | None
    mean_gain: float | None = Field(description="Mean of per-learner Hake's g.")
    gain_n: int
    class_average_gain: float | None = Field(description="(mean post - mean pre)/(1 - mean pre).")
    d_z: float | None = Field(description="Paired effect size: mean delta / SD of deltas.")


class CourseDeltas(BaseModel):
    """Deltas of one course (None: assessments without a context course)."""

    course: str | None
    summary: DeltaSummaryPublic


class GroupDeltas(BaseModel):
    """Deltas of one directory group."""

    group: str
    summary: DeltaSummaryPublic


class PairPublic(Public):
    """One learner's pre/post pair in one cycle."""

    actor: str
    course: str | None
    registration: str | None
    pre: float | None
    post: float | None
    delta: float | None
    gain: float | None


class DeltaReportPublic(BaseModel):
    """Assessment deltas overall, by course and by group (and the pairs when asked)."""

    overall: DeltaSummaryPublic
    by_course: list[CourseDeltas]
    by_group: list[GroupDeltas]
    pairs: list[PairPublic] | None = None


class ActivePeriodPublic(Public):
    """Distinct learners active in a period (UTC day, or ISO week starting Monday)."""

    period: date
    learners: int
    statements: int


class ActiveReport(BaseModel):
    """Active learners per period."""

    granularity: str
    periods: list[ActivePeriodPublic]


class SessionPublic(Public):
    """One session (statements sharing a cmi5 session id, else a registration)."""

    actor: str
    key: str
    activity_id: str
    registration: str | None
    started: datetime
    last_seen: datetime
    initialized: bool
    ended_by: str | None
    ended: datetime | None
    duration_s: float | None
    statements: int
    state: str


class SessionSummaryPublic(Public):
    """Session counts and the session-time distribution."""

    sessions: int
    initialized: int
    terminated: int
    abandoned: int
    open: int
    duration: DistributionPublic


class SessionReportPublic(Public):
    """Session summary and a page of sessions."""

    summary: SessionSummaryPublic
    sessions: list[SessionPublic]
    next_cursor: str | None


class VideoPublic(Public):
    """Video progress of one video activity (furthest progress per learner, 0..1)."""

    activity_id: str
    learners: int
    mean_progress: float | None
    median_progress: float | None
    reached: dict[str, int]


class DropOffPublic(BaseModel):
    """The enrolment funnel of one activity."""

    activity_id: str
    funnel: FunnelPublic


class GroupPublic(Public):
    """A directory group."""

    id: str
    display_name: str | None
    members: list[str]


class HealthPublic(BaseModel):
    """Liveness, row counts and consumer positions."""

    status: str
    counts: dict[str, int]
    consumers: list[dict[str, str | int]]
