"""Ports the use cases depend on: a clock (tests set it) and the service's context."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Where `now` comes from; compliance due dates move only when this clock says so."""

    def now(self) -> datetime: ...
