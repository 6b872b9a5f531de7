"""Alembic environment: runs on the connection handed over by `schema.create_schema`."""

from __future__ import annotations

from alembic import context

from learnproof_identity.adapters.schema import VERSION_TABLE
from learnproof_identity.adapters.tables import define_tables

config = context.config


def run() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=define_tables().metadata,
        render_as_batch=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
