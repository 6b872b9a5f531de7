"""Named errors of identity-sync; entrypoints/errors.py maps them to HTTP."""

from __future__ import annotations


class IdentityError(Exception):
    """Base of every error identity-sync raises on purpose."""

    status = 400
    scim_type: str | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(IdentityError):
    """The resource does not exist."""

    status = 404


class UniquenessConflict(IdentityError):
    """A unique attribute (userName, group displayName) is already taken."""

    status = 409
    scim_type = "uniqueness"


class InvalidValue(IdentityError):
    """A value does not fit the attribute or the request."""

    scim_type = "invalidValue"


class InvalidFilter(IdentityError):
    """A SCIM filter cannot be parsed or evaluated."""

    scim_type = "invalidFilter"


class InvalidDefinition(IdentityError):
    """A requirement or entitlement definition is malformed."""

    scim_type = "invalidValue"
