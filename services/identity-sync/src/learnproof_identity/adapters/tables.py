"""SQLAlchemy Core tables of identity-sync (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from learnproof_events.consumer import define_tracking_table
from learnproof_events.outbox import define_outbox_table


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite would otherwise hand back naive datetimes."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TS = UtcDateTime()


@dataclass(frozen=True)
class Tables:
    """Every table, built on one MetaData so `create_all` makes the whole schema."""

    metadata: sa.MetaData
    users: sa.Table
    groups: sa.Table
    members: sa.Table
    actor_keys: sa.Table
    actors: sa.Table
    links: sa.Table
    evidence: sa.Table
    requirements: sa.Table
    entitlements: sa.Table
    compliance: sa.Table
    compliance_history: sa.Table
    grants: sa.Table
    grant_history: sa.Table
    outbox: sa.Table
    tracking: sa.Table


def define_tables() -> Tables:
    """Declare the schema; SQL lives in adapters/store.py."""
    md = sa.MetaData()
    users = sa.Table(
        "scim_users",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        # Creation order for stable paging (ids are random, clocks can tie).
        sa.Column("ordinal", sa.BigInteger, nullable=False, index=True),
        # userName is unique case-insensitively (RFC 7643 §4.1.1 caseExact false).
        sa.Column("user_name_key", sa.String(512), nullable=False, unique=True),
        sa.Column("external_id", sa.String(512), index=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("last_modified", TS, nullable=False),
        sa.Column("role_changed_at", TS),
    )
    groups = sa.Table(
        "scim_groups",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("ordinal", sa.BigInteger, nullable=False, index=True),
        sa.Column("display_name", sa.String(512), nullable=False, index=True),
        sa.Column("external_id", sa.String(512)),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("last_modified", TS, nullable=False),
    )
    members = sa.Table(
        "scim_group_members",
        md,
        sa.Column("group_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True, index=True),
        # What the IdP calls the member (Okta sends the login); echoed back, never trusted.
        sa.Column("display", sa.String(512)),
        sa.Column("added_at", TS, nullable=False),
    )
    actor_keys = sa.Table(
        "user_actor_keys",
        md,
        sa.Column("actor_key", sa.String(1024), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True, index=True),
        sa.Column("rule", sa.String(128), nullable=False),
    )
    actors = sa.Table(
        "actors_seen",
        md,
        sa.Column("actor_key", sa.String(1024), primary_key=True),
        sa.Column("actor", sa.JSON, nullable=False),
        sa.Column("statement_count", sa.Integer, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
    )
    links = sa.Table(
        "actor_links",
        md,
        sa.Column("actor_key", sa.String(1024), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False, index=True),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("linked_at", TS, nullable=False),
    )
    evidence = sa.Table(
        "actor_evidence",
        md,
        sa.Column("statement_id", sa.String(64), primary_key=True),
        sa.Column("actor_key", sa.String(1024), nullable=False, index=True),
        sa.Column("verb", sa.String(32), nullable=False),
        sa.Column("activity_iri", sa.String(2048), nullable=False),
        sa.Column("registration", sa.String(64)),
        sa.Column("timestamp", TS, nullable=False),
        sa.Column("voided_at", TS),
    )
    requirements = sa.Table(
        "requirements",
        md,
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    entitlements = sa.Table(
        "entitlements",
        md,
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    compliance = sa.Table(
        "compliance_state",
        md,
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("requirement_id", sa.String(256), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("effective_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("satisfied_at", TS),
        sa.Column("expires_at", TS),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    compliance_history = sa.Table(
        "compliance_history",
        md,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("requirement_id", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("effective_at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Index("ix_compliance_history_user", "user_id", "requirement_id", "effective_at"),
    )
    grants = sa.Table(
        "entitlement_grants",
        md,
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("entitlement_id", sa.String(256), primary_key=True),
        sa.Column("granted_at", TS, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
    )
    grant_history = sa.Table(
        "entitlement_history",
        md,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("entitlement_id", sa.String(256), nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("effective_at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Index("ix_entitlement_history_user", "user_id", "entitlement_id", "effective_at"),
    )
    return Tables(
        metadata=md,
        users=users,
        groups=groups,
        members=members,
        actor_keys=actor_keys,
        actors=actors,
        links=links,
        evidence=evidence,
        requirements=requirements,
        entitlements=entitlements,
        compliance=compliance,
        compliance_history=compliance_history,
        grants=grants,
        grant_history=grant_history,
        outbox=define_outbox_table(md, "outbox"),
        tracking=define_tracking_table(md, "consumer_tracking"),
    )
