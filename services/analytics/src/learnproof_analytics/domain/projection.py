"""The projection fold: each event becomes a list of changes to the read-model state.

One small function per event type decides the changes; the same changes are applied either to
the in-memory :class:`ReadModel` (unit tests) or to SQL tables (the adapter), so the meaning of
an event lives in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from learnproof_analytics.domain.directory import (
    DirectoryGroup,
    DirectoryUser,
    group_from_data,
    user_from_data,
)
from learnproof_analytics.domain.errors import UnreadableStatement
from learnproof_analytics.domain.facts import StatementFact, fact_from_statement, parse_timestamp

STATEMENTS_TOPIC = "xapi.statements.v1"
DIRECTORY_TOPIC = "identity.directory.v1"


class EventLike(Protocol):
    """What the fold reads of an event (``learnproof_events.envelope.Event`` satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class PutFact:
    """Record a statement's fact unless that statement is already voided."""

    fact: StatementFact


@dataclass(frozen=True, slots=True)
class VoidStatement:
    """Remember the voiding and remove the voided statement's fact."""

    store: str
    statement_id: str
    voiding_statement_id: str | None
    voided_at: datetime | None


@dataclass(frozen=True, slots=True)
class SkipStatement:
    """A statement the projection could not read; kept visible instead of blocking the stream."""

    store: str
    statement_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PutUser:
    """Insert or replace a directory user."""

    user: DirectoryUser


@dataclass(frozen=True, slots=True)
class DeactivateUser:
    """Mark a user inactive (SCIM soft delete); their history still counts."""

    user_id: str


@dataclass(frozen=True, slots=True)
class PutGroup:
    """Insert or replace a group with its full member list."""

    group: DirectoryGroup


@dataclass(frozen=True, slots=True)
class DeleteGroup:
    """Remove a group and its memberships."""

    group_id: str


@dataclass(frozen=True, slots=True)
class LinkActor:
    """An xAPI actor key belongs to a directory user."""

    actor: str
    user_id: str


@dataclass(frozen=True, slots=True)
class UnlinkActor:
    """An actor key no longer belongs to that user."""

    actor: str
    user_id: str


Change = (
    PutFact
    | VoidStatement
    | SkipStatement
    | PutUser
    | DeactivateUser
    | PutGroup
    | DeleteGroup
    | LinkActor
    | UnlinkActor
)


def on_statement_stored(key: str, data: Mapping[str, Any]) -> list[Change]:
    """A stored statement about an activity becomes a fact; others (voiding ...) change nothing."""
    store = str(data.get("store", ""))
    statement = data.get("statement")
    if not isinstance(statement, Mapping):
        return [SkipStatement(store, "", "event without a statement")]
    try:
        fact = fact_from_statement(statement, store, fallback_actor=key or None)
    except UnreadableStatement as exc:
        return [SkipStatement(store, str(statement.get("id", "")), str(exc))]
    return [] if fact is None else [PutFact(fact)]


def on_statement_voided(key: str, data: Mapping[str, Any]) -> list[Change]:
    """Voiding removes the voided statement's fact (and prevents a late one from counting)."""
    voided_at = data.get("voided_at")
    voiding = data.get("voiding_statement_id")
    return [
        VoidStatement(
            store=str(data.get("store", "")),
            statement_id=str(data["voided_statement_id"]),
            voiding_statement_id=voiding if isinstance(voiding, str) else None,
            voided_at=parse_timestamp(voided_at) if isinstance(voided_at, str) else None,
        )
    ]


def on_user_upserted(key: str, data: Mapping[str, Any]) -> list[Change]:
    """A user created or updated in the directory."""
    return [PutUser(user_from_data(data["user"]))]


def on_user_deactivated(key: str, data: Mapping[str, Any]) -> list[Change]:
    """A user deactivated in the directory."""
    return [DeactivateUser(str(data["user_id"]))]


def on_group_upserted(key: str, data: Mapping[str, Any]) -> list[Change]:
    """A group created, renamed or with changed members."""
    return [PutGroup(group_from_data(data["group"]))]


def on_group_deleted(key: str, data: Mapping[str, Any]) -> list[Change]:
    """A group removed from the directory."""
    return [DeleteGroup(str(data["group_id"]))]


def on_actor_linked(key: str, data: Mapping[str, Any]) -> list[Change]:
    """An actor key reconciled to a user."""
    return [LinkActor(str(data["actor"]), str(data["user_id"]))]


def on_actor_unlinked(key: str, data: Mapping[str, Any]) -> list[Change]:
    """An actor link withdrawn."""
    return [UnlinkActor(str(data["actor"]), str(data["user_id"]))]


FOLDS: Mapping[str, Callable[[str, Mapping[str, Any]], list[Change]]] = {
    "xapi.statement.stored": on_statement_stored,
    "xapi.statement.voided": on_statement_voided,
    "identity.user.upserted": on_user_upserted,
    "identity.user.deactivated": on_user_deactivated,
    "identity.group.upserted": on_group_upserted,
    "identity.group.deleted": on_group_deleted,
    "identity.actor.linked": on_actor_linked,
    "identity.actor.unlinked": on_actor_unlinked,
}


def changes_for(events: Sequence[EventLike]) -> list[Change]:
    """The changes a batch of events makes, in order; unknown event types change nothing.

    A malformed event (a producer bug) is recorded as skipped rather than raised: raising would
    fail the batch on every retry and stop the whole stream behind it.
    """
    changes: list[Change] = []
    for event in events:
        fold = FOLDS.get(event.type)
        if fold is None:
            continue
        try:
            changes.extend(fold(event.key, event.data))
        except (AttributeError, KeyError, TypeError, ValueError, UnreadableStatement) as exc:
            reason = f"{event.type}: {type(exc).__name__}: {exc}"
            changes.append(
                SkipStatement(str(event.data.get("store", "")), f"event:{event.id}", reason)
            )
    return changes


@dataclass
class ReadModel:
    """The current read-model state in memory (unit tests and reasoning about the fold).

    The SQL adapter holds the same state, except that it keeps voided facts marked with their
    voiding time instead of dropping them, so that figures "as of" an earlier date can be asked.
    """

    facts: dict[tuple[str, str], StatementFact] = field(default_factory=dict)
    voided: dict[tuple[str, str], VoidStatement] = field(default_factory=dict)
    skipped: dict[tuple[str, str], SkipStatement] = field(default_factory=dict)
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    groups: dict[str, DirectoryGroup] = field(default_factory=dict)
    links: set[tuple[str, str]] = field(default_factory=set)

    def apply(self, change: Change) -> None:
        """Apply one change; every change is idempotent, so redelivery is harmless."""
        match change:
            case PutFact(fact):
                key = (fact.store, fact.statement_id)
                if key not in self.voided:
                    self.facts[key] = fact
            case VoidStatement(store, statement_id):
                self.voided[(store, statement_id)] = change
                self.facts.pop((store, statement_id), None)
            case SkipStatement(store, statement_id):
                self.skipped[(store, statement_id)] = change
            case PutUser(user):
                self.users[user.id] = user
            case DeactivateUser(user_id):
                if user_id in self.users:
                    self.users[user_id] = replace(self.users[user_id], active=False)
            case PutGroup(group):
                self.groups[group.id] = group
            case DeleteGroup(group_id):
                self.groups.pop(group_id, None)
            case LinkActor(actor, user_id):
                self.links.add((actor, user_id))
            case UnlinkActor(actor, user_id):
                self.links.discard((actor, user_id))

    def apply_events(self, events: Sequence[EventLike]) -> None:
        """Fold a batch of events into the state."""
        for change in changes_for(events):
            self.apply(change)
