"""Request dependencies: the container, the read model, the common filter and paging params."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from learnproof_analytics.bootstrap import Container
from learnproof_analytics.domain.errors import InvalidQuery
from learnproof_analytics.domain.filters import FactFilter
from learnproof_analytics.service_layer.ports import ReadModelPort


def get_container(request: Request) -> Container:
    """The service container the app was built with."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_read_model(container: ContainerDep) -> ReadModelPort:
    """The read model port."""
    return container.read_model


ReadModelDep = Annotated[ReadModelPort, Depends(get_read_model)]


def get_filter(
    since: Annotated[
        datetime | None, Query(description="Statements at or after (timestamp, ISO 8601).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Statements before (exclusive).")] = None,
    activity: Annotated[str | None, Query(description="Object activity IRI.")] = None,
    course: Annotated[
        str | None, Query(description="Activity IRI as object or context parent/grouping.")
    ] = None,
    registration: Annotated[str | None, Query(description="Registration UUID.")] = None,
    group: Annotated[str | None, Query(description="Directory group id (linked actors).")] = None,
    manager: Annotated[str | None, Query(description="Manager's user id (direct reports).")] = None,
    department: Annotated[str | None, Query(description="Directory department.")] = None,
    store: Annotated[str | None, Query(description="LRS store id.")] = None,
    as_of: Annotated[
        datetime | None,
        Query(description="Figures as they stood then (voidings count from their timestamp)."),
    ] = None,
) -> FactFilter:
    """The cut of the statements the figures are computed over."""
    for name, moment in (("since", since), ("until", until), ("as_of", as_of)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidQuery(f"{name} needs a time zone (e.g. Z)")
    return FactFilter(
        since=since,
        until=until,
        activity=activity,
        course=course,
        registration=registration,
        group=group,
        manager=manager,
        department=department,
        store=store,
        as_of=as_of,
    )


FilterDep = Annotated[FactFilter, Depends(get_filter)]


class Paging:
    """Keyset paging parameters."""

    def __init__(
        self,
        request: Request,
        limit: Annotated[int, Query(ge=1, description="Items per page.")] = 100,
        cursor: Annotated[
            str | None, Query(description="next_cursor of the previous page.")
        ] = None,
    ) -> None:
        max_page: int = request.app.state.max_page_size
        if limit > max_page:
            raise InvalidQuery(f"limit must be at most {max_page}")
        self.limit = limit
        self.cursor = cursor


PagingDep = Annotated[Paging, Depends(Paging)]
