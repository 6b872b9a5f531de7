"""Training requirements and entitlements as declared in the requirements file or the API."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .errors import InvalidDefinition

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO 8601 duration; years and months move along the calendar (P1Y from 29 Feb → 28 Feb)."""

    months: int = 0
    days: int = 0
    seconds: int = 0
    text: str = "P0D"

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text.strip().upper())
        if match is None or text.strip().upper() in ("P", "PT"):
            raise InvalidDefinition(f"not an ISO 8601 duration: {text!r}")
        g = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        return cls(
            months=g["y"] * 12 + g["mo"],
            days=g["w"] * 7 + g["d"],
            seconds=g["h"] * 3600 + g["mi"] * 60 + g["s"],
            text=text.strip().upper(),
        )

    def after(self, moment: datetime) -> datetime:
        return _add_months(moment, self.months) + timedelta(days=self.days, seconds=self.seconds)

    def before(self, moment: datetime) -> datetime:
        return _add_months(moment, -self.months) - timedelta(days=self.days, seconds=self.seconds)

    def __str__(self) -> str:
        return self.text


def _add_months(moment: datetime, months: int) -> datetime:
    if months == 0:
        return moment
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


class MoveOn(StrEnum):
    """Which verbs satisfy a requirement; cmi5 `satisfied` always does."""

    passed = "Passed"
    completed = "Completed"
    completed_and_passed = "CompletedAndPassed"
    completed_or_passed = "CompletedOrPassed"
    satisfied = "Satisfied"


class DueFrom(StrEnum):
    """What the initial due date counts from."""

    assignment = "assignment"
    hire_date = "hire_date"
    role_change = "role_change"
    fixed = "fixed"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One mandatory training: who must do it, by when, how often, and what proves it."""

    id: str
    activity_iri: str
    title: str = ""
    audience_groups: tuple[str, ...] = ()
    audience_filter: str | None = None
    due_from: DueFrom = DueFrom.assignment
    due_within: Duration = field(default_factory=lambda: Duration.parse("P30D"))
    due_on: datetime | None = None
    recurrence: Duration | None = None
    expiring_within: Duration = field(default_factory=lambda: Duration.parse("P30D"))
    grace: Duration = field(default_factory=lambda: Duration.parse("P0D"))
    lookback: Duration = field(default_factory=lambda: Duration.parse("P0D"))
    move_on: MoveOn = MoveOn.completed_or_passed

    def to_dict(self) -> dict[str, Any]:
        """The declarative form, as accepted by `requirement_from_dict`."""
        return {
            "id": self.id,
            "title": self.title,
            "activity": self.activity_iri,
            "audience": {"groups": list(self.audience_groups), "filter": self.audience_filter},
            "due": {
                "from": self.due_from.value,
                "within": str(self.due_within),
                "on": self.due_on.isoformat() if self.due_on is not None else None,
            },
            "recurrence": str(self.recurrence) if self.recurrence is not None else None,
            "expiring_within": str(self.expiring_within),
            "grace": str(self.grace),
            "lookback": str(self.lookback),
            "move_on": self.move_on.value,
        }


@dataclass(frozen=True, slots=True)
class Entitlement:
    """An access right granted while every listed requirement is satisfied."""

    id: str
    requirements: tuple[str, ...]
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "requirements": list(self.requirements),
            "description": self.description,
        }


def requirement_from_dict(raw: Mapping[str, Any]) -> Requirement:
    """Build a requirement from its declarative form (file or API body)."""
    try:
        audience = raw.get("audience") or {}
        due = raw.get("due") or {}
        if not isinstance(audience, Mapping) or not isinstance(due, Mapping):
            raise InvalidDefinition("audience and due must be objects")
        groups = audience.get("groups") or []
        if isinstance(groups, str):
            groups = [groups]
        due_on = due.get("on")
        requirement = Requirement(
            id=str(raw["id"]),
            title=str(raw.get("title") or ""),
            activity_iri=str(raw["activity"]),
            audience_groups=tuple(str(g) for g in groups),
            audience_filter=audience.get("filter") or None,
            due_from=DueFrom(due.get("from", "assignment")),
            due_within=Duration.parse(str(due.get("within", "P30D"))),
            due_on=datetime.fromisoformat(str(due_on).replace("Z", "+00:00")) if due_on else None,
            recurrence=Duration.parse(str(raw["recurrence"])) if raw.get("recurrence") else None,
            expiring_within=Duration.parse(str(raw.get("expiring_within", "P30D"))),
            grace=Duration.parse(str(raw.get("grace", "P0D"))),
            lookback=Duration.parse(str(raw.get("lookback", "P0D"))),
            move_on=MoveOn(raw.get("move_on", "CompletedOrPassed")),
        )
    except KeyError as exc:
        raise InvalidDefinition(f"requirement is missing {exc.args[0]!r}") from exc
    except ValueError as exc:
        raise InvalidDefinition(f"requirement {raw.get('id')!r}: {exc}") from exc
    if requirement.due_from is DueFrom.fixed and requirement.due_on is None:
        raise InvalidDefinition(f"requirement {requirement.id!r}: due.from fixed needs due.on")
    if not requirement.audience_groups and not requirement.audience_filter:
        raise InvalidDefinition(f"requirement {requirement.id!r}: audience needs groups or filter")
    return requirement


def entitlement_from_dict(raw: Mapping[str, Any]) -> Entitlement:
    """Build an entitlement from its declarative form."""
    try:
        requirements = raw["requirements"]
    except KeyError as exc:
        raise InvalidDefinition(f"entitlement is missing {exc.args[0]!r}") from exc
    if isinstance(requirements, str) or not requirements:
        raise InvalidDefinition("entitlement requirements must be a non-empty list")
    return Entitlement(
        id=str(raw["id"]),
        requirements=tuple(str(r) for r in requirements),
        description=str(raw.get("description") or ""),
    )
