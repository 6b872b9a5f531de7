"""Named analytics domain errors (one module maps them to HTTP)."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base of every analytics domain error."""


class UnreadableStatement(AnalyticsError):
    """A stored statement lacks what the projection needs (id, actor, timestamp)."""


class NotFound(AnalyticsError):
    """The learner or activity asked for has no (non-voided) statements."""


class InvalidQuery(AnalyticsError):
    """A query parameter is malformed (bad cursor, inverted time window ...)."""
