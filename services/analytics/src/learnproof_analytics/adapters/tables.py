"""SQLAlchemy Core tables of the analytics read models (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores tz-aware UTC datetimes; SQLite gets naive UTC, reads come back tz-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        utc = aware.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

statement_facts = sa.Table(
    "analytics_statement_facts",
    metadata,
    sa.Column("store", sa.String(200), primary_key=True),
    sa.Column("statement_id", sa.String(64), primary_key=True),
    sa.Column("actor", sa.Text(), nullable=False),
    sa.Column("actor_name", sa.Text()),
    sa.Column("verb", sa.Text(), nullable=False),
    sa.Column("verb_kind", sa.String(32), nullable=False),
    sa.Column("activity_id", sa.Text(), nullable=False),
    sa.Column("activity_type", sa.Text()),
    sa.Column("registration", sa.String(64)),
    sa.Column("session_id", sa.Text()),
    sa.Column("timestamp", UTCDateTime(), nullable=False),
    sa.Column("score_scaled", sa.Double()),
    sa.Column("success", sa.Boolean()),
    sa.Column("completion", sa.Boolean()),
    sa.Column("duration_s", sa.Double()),
    sa.Column("assessment_type", sa.Text()),
    sa.Column("video_progress", sa.Double()),
    # Set when the statement is voided (the voiding statement's timestamp): current figures skip
    # the row, figures "as of" an earlier date still count it.
    sa.Column("voided_at", UTCDateTime()),
    sa.Index("ix_analytics_facts_actor", "actor", "timestamp"),
    sa.Index("ix_analytics_facts_activity", "activity_id", "timestamp"),
    sa.Index("ix_analytics_facts_registration", "registration"),
    sa.Index("ix_analytics_facts_timestamp", "timestamp"),
)

# The context activities (parent, grouping) of a fact, in order: the "course" filter and the
# course an assessment belongs to.
fact_context = sa.Table(
    "analytics_fact_context",
    metadata,
    sa.Column("store", sa.String(200), primary_key=True),
    sa.Column("statement_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("activity_id", sa.Text(), nullable=False),
    sa.Index("ix_analytics_fact_context_activity", "activity_id"),
)

voided_statements = sa.Table(
    "analytics_voided_statements",
    metadata,
    sa.Column("store", sa.String(200), primary_key=True),
    sa.Column("statement_id", sa.String(64), primary_key=True),
    sa.Column("voiding_statement_id", sa.String(64)),
    sa.Column("voided_at", UTCDateTime()),
)

skipped_statements = sa.Table(
    "analytics_skipped_statements",
    metadata,
    sa.Column("store", sa.String(200), primary_key=True),
    sa.Column("statement_id", sa.String(200), primary_key=True),
    sa.Column("reason", sa.Text(), nullable=False),
)

directory_users = sa.Table(
    "analytics_directory_users",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("user_name", sa.Text()),
    sa.Column("display_name", sa.Text()),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("department", sa.Text()),
    sa.Column("manager_id", sa.String(200)),
    sa.Index("ix_analytics_users_manager", "manager_id"),
)

directory_groups = sa.Table(
    "analytics_directory_groups",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("display_name", sa.Text()),
)

group_members = sa.Table(
    "analytics_group_members",
    metadata,
    sa.Column("group_id", sa.String(200), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Index("ix_analytics_group_members_user", "user_id"),
)

actor_links = sa.Table(
    "analytics_actor_links",
    metadata,
    sa.Column("actor", sa.Text(), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Index("ix_analytics_actor_links_user", "user_id"),
)

READ_MODEL_TABLES = (
    statement_facts,
    fact_context,
    voided_statements,
    skipped_statements,
    directory_users,
    directory_groups,
    group_members,
    actor_links,
)
