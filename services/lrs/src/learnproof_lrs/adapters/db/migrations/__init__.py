"""Alembic migrations of the LRS schema (PostgreSQL and SQLite)."""
