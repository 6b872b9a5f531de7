"""statement_index: the primary key is the filtered queries' order (store, kind, value, stored, seq)

One B-tree per index row instead of two (the old key (store, kind, value, seq) plus the ordering
index ix_statement_index_order): index rows are most of what a statement write costs the
database.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_KEY = ["store_id", "kind", "value", "stored_us", "seq"]
OLD_KEY = ["store_id", "kind", "value", "seq"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_statement_index_order", table_name="statement_index")
        op.drop_constraint("statement_index_pkey", "statement_index", type_="primary")
        op.create_primary_key("statement_index_pkey", "statement_index", NEW_KEY)
        return
    _rebuild_on_sqlite(NEW_KEY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("statement_index_pkey", "statement_index", type_="primary")
        op.create_primary_key("statement_index_pkey", "statement_index", OLD_KEY)
        op.create_index(
            "ix_statement_index_order",
            "statement_index",
            ["store_id", "kind", "value", "stored_us", "seq"],
        )
        return
    _rebuild_on_sqlite(OLD_KEY)
    op.create_index(
        "ix_statement_index_order",
        "statement_index",
        ["store_id", "kind", "value", "stored_us", "seq"],
    )


def _rebuild_on_sqlite(key: list[str]) -> None:
    """SQLite cannot change a primary key in place: copy into a new table with the key."""
    op.create_table(
        "statement_index_new",
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("stored_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name="statement_index_pkey"),
    )
    op.execute(
        "INSERT INTO statement_index_new (store_id, kind, value, seq, is_primary, stored_us)"
        " SELECT store_id, kind, value, seq, is_primary, stored_us FROM statement_index"
    )
    op.drop_table("statement_index")  # with its indexes
    op.rename_table("statement_index_new", "statement_index")
    op.create_index("ix_statement_index_seq", "statement_index", ["seq"])
