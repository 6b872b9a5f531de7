"""Adapters of identity-sync: SQL storage, clocks, statement sources, requirement files."""
