"""Alembic migrations of the analytics read-model schema."""
