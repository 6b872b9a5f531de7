"""The LRS's tables (SQLAlchemy Core), the same on PostgreSQL and SQLite. Every row has a store."""

from __future__ import annotations

import sqlalchemy as sa

from learnproof_events.outbox import define_outbox_table

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a BIGINT.
BigSerial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

stores = sa.Table(
    "stores",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.String(200), nullable=False),
    sa.Column("scopes", sa.String(400), nullable=False),  # space-separated
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
)

# The immutable log. `seq` orders it (keyset paging, commit order); `body` is the statement as
# received plus the LRS's properties (id, stored, timestamp, authority, version), as JSON bytes.
statements = sa.Table(
    "statements",
    metadata,
    sa.Column("seq", BigSerial, primary_key=True, autoincrement=True),
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("id", sa.String(36), nullable=False),
    sa.Column("stored_us", sa.BigInteger, nullable=False),
    # The writing transaction's id (PostgreSQL xid8; 0 on SQLite): queries read only rows below
    # the horizon under which every transaction has finished, so a late commit is never skipped.
    sa.Column("txid", sa.BigInteger, nullable=False, default=0),
    sa.Column("credential_key", sa.String(128), nullable=False),
    sa.Column("voided", sa.Boolean, nullable=False, default=False),
    sa.Column("voiding_target", sa.String(36), nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("store_id", "id", name="uq_statements_store_id"),
    sa.Index("ix_statements_store_seq", "store_id", "seq"),
    sa.Index("ix_statements_store_stored_seq", "store_id", "stored_us", "seq"),
    sa.Index("ix_statements_voiding_target", "store_id", "voiding_target"),
)

# One narrow index table answers agent / verb / activity / registration filters; `primary` rows
# answer the plain filter, all rows answer related_agents / related_activities. Its primary key
# is also the order a filtered query walks: (store, kind, value, stored, seq) -- one B-tree per
# row fewer than a separate key and ordering index (revision 0002; measured in docs/benchmarks.md).
# On PostgreSQL the key also carries `is_primary` (INCLUDE, revision 0003), so a plain filter
# reads the index alone -- no visit to this table's heap for rows autovacuum has marked
# all-visible (docs/benchmarks.md: ~950 -> ~570 us of database CPU per 100-row page).
statement_index = sa.Table(
    "statement_index",
    metadata,
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(1), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("is_primary", sa.Boolean, nullable=False),
    # The statement's `stored`, so a filtered query walks this index in result order.
    sa.Column("stored_us", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint(
        "store_id",
        "kind",
        "value",
        "stored_us",
        "seq",
        name="statement_index_pkey",
        postgresql_include=["is_primary"],
    ),
    sa.Index("ix_statement_index_seq", "seq"),
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("store_id", sa.String(64), primary_key=True),
    sa.Column("sha2", sa.String(128), primary_key=True),
    sa.Column("content_type", sa.String(255), nullable=False),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

# The canonical definition of each activity, merged from statements (GET /activities).
activities = sa.Table(
    "activities",
    metadata,
    sa.Column("store_id", sa.String(64), primary_key=True),
    sa.Column("activity_id", sa.Text, primary_key=True),
    sa.Column("definition", sa.LargeBinary, nullable=False),
)

# State, activity profile and agent profile documents. The key is hashed: `owner_hash` is the
# SHA-256 of kind, activity and agent, `doc_hash` that of the state / profile id, so arbitrarily
# long IRIs and ids never overflow a B-tree entry (PostgreSQL caps one at ~2.7 kB). The raw
# values are kept for answers. Empty strings, not NULLs, stand for "none" (same on both DBs).
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("store_id", sa.String(64), primary_key=True),
    sa.Column("owner_hash", sa.String(64), primary_key=True),
    sa.Column("registration", sa.String(36), primary_key=True),
    sa.Column("doc_hash", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # state | activity_profile | agent_profile
    sa.Column("activity_id", sa.Text, nullable=False),
    sa.Column("agent_key", sa.Text, nullable=False),
    sa.Column("doc_id", sa.Text, nullable=False),
    sa.Column("content_type", sa.String(255), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("etag", sa.String(64), nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

outbox = define_outbox_table(metadata)
