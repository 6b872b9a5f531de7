"""The LRS's domain errors: one small hierarchy, mapped to HTTP in exactly one place."""

from __future__ import annotations


class LrsError(Exception):
    """Base of every error the LRS answers a client with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # Response headers that belong on the error answer too (e.g. Consistent-Through).
        self.headers: dict[str, str] = {}


class BadRequest(LrsError):
    """The request or its statement is malformed (400)."""

    status = 400


class InvalidStatement(BadRequest):
    """A statement breaks the xAPI data model; `path` names the offending field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class Unauthorized(LrsError):
    """No or wrong credentials (401)."""

    status = 401


class Forbidden(LrsError):
    """The credential lacks the scope for this request (403)."""

    status = 403


class NotFound(LrsError):
    """The resource does not exist in this store (404)."""

    status = 404


class Conflict(LrsError):
    """The request conflicts with what is stored (409)."""

    status = 409


class PreconditionFailed(LrsError):
    """An If-Match / If-None-Match precondition does not hold (412)."""

    status = 412


class PayloadTooLarge(LrsError):
    """The body is larger than the configured limit (413)."""

    status = 413


class ServiceUnavailable(LrsError):
    """The database could not answer in time (a query over its time limit); retry later (503)."""

    status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers["Retry-After"] = "1"
