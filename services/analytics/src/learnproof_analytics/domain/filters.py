"""The cuts every figure can be taken over: time window, activity/course, group, manager ..."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from learnproof_analytics.domain.assessments import AssessmentConfig
from learnproof_analytics.domain.errors import InvalidQuery


@dataclass(frozen=True, slots=True)
class FactFilter:
    """Which facts a figure is computed from; None means "no restriction".

    ``since`` is inclusive and ``until`` exclusive, on the statement timestamp. ``as_of`` gives
    the figures as they stood then: statements timestamped up to it, and a voiding counts from
    the voiding statement's timestamp (None: now, every voiding applied). ``course``
    matches the object or any context parent/grouping activity. ``group`` and ``manager`` go
    through identity-sync's actor links (direct reports for ``manager``).
    """

    since: datetime | None = None
    until: datetime | None = None
    activity: str | None = None
    course: str | None = None
    registration: str | None = None
    group: str | None = None
    manager: str | None = None
    department: str | None = None
    store: str | None = None
    actor: str | None = None
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidQuery("since must be before until")


@dataclass(frozen=True, slots=True)
class FactSubset:
    """Facts a figure needs at most, so storage can skip the rest (the domain re-checks)."""

    video_only: bool = False
    assessments: AssessmentConfig | None = None
