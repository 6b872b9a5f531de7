"""Learnproof analytics: read models of the statement stream."""
