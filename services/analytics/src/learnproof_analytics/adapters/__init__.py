"""Adapters: SQL tables and queries of the read models, event sources."""
