"""Database adapters: tables, SQL and migrations."""
