"""statement_index (PostgreSQL): the primary key INCLUDEs is_primary, so plain filters are
index-only scans

A filter without related_agents / related_activities keeps only `is_primary` rows; with the flag
outside the index every matching entry cost a visit to the table's heap. SQLite has no INCLUDE
and keeps the key as it is.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEY = "store_id, kind, value, stored_us, seq"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE statement_index DROP CONSTRAINT statement_index_pkey,"
            f" ADD CONSTRAINT statement_index_pkey PRIMARY KEY ({KEY}) INCLUDE (is_primary)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE statement_index DROP CONSTRAINT statement_index_pkey,"
            f" ADD CONSTRAINT statement_index_pkey PRIMARY KEY ({KEY})"
        )
