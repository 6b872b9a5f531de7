"""The read-model port the use cases depend on (the SQL adapter implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from learnproof_analytics.domain.directory import DirectoryGroup, LinkedUser
from learnproof_analytics.domain.engagement import ActivePeriod
from learnproof_analytics.domain.facts import StatementFact
from learnproof_analytics.domain.filters import FactFilter, FactSubset


class ReadModelPort(Protocol):
    """What the queries need from storage."""

    async def facts(
        self,
        flt: FactFilter,
        actors: Sequence[str] | None = None,
        activities: Sequence[str] | None = None,
        subset: FactSubset | None = None,
    ) -> list[StatementFact]: ...

    async def page_keys(
        self, flt: FactFilter, by: str, after: str | None, limit: int
    ) -> list[str]: ...

    async def linked_users(self, actors: Sequence[str]) -> dict[str, list[LinkedUser]]: ...

    async def groups(self) -> list[DirectoryGroup]: ...

    async def actor_groups(self) -> dict[str, set[str]]: ...

    async def actor_managers(self) -> dict[str, set[str]]: ...

    async def active_periods(self, flt: FactFilter, granularity: str) -> list[ActivePeriod]: ...
