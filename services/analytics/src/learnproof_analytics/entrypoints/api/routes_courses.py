"""Routes: per-course / per-activity figures."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from learnproof_analytics.entrypoints.api.auth import Reader
from learnproof_analytics.entrypoints.api.deps import FilterDep, PagingDep, ReadModelDep
from learnproof_analytics.entrypoints.api.schemas import ActivityPage, ActivityPublic, CutActivity
from learnproof_analytics.service_layer import queries

router = APIRouter(prefix="/v1/courses", tags=["courses"], dependencies=[Reader])


@router.get("", response_model=ActivityPage, summary="Figures per activity, by activity IRI")
async def list_courses(flt: FilterDep, paging: PagingDep, read_model: ReadModelDep) -> ActivityPage:
    page = await queries.list_activities(read_model, flt, paging.cursor, paging.limit)
    return ActivityPage(
        items=[ActivityPublic.model_validate(a) for a in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/breakdown",
    response_model=list[CutActivity],
    summary="One activity's figures per directory group or per manager",
    description="Requires the `activity` filter; learners without a directory link are left out.",
)
async def breakdown(
    by: Annotated[Literal["group", "manager"], Query()],
    flt: FilterDep,
    read_model: ReadModelDep,
) -> list[CutActivity]:
    cuts = await queries.breakdown(read_model, flt, by)
    return [CutActivity(cut=c, summary=ActivityPublic.model_validate(s)) for c, s in cuts]


@router.get(
    "/{activity_iri:path}",
    response_model=ActivityPublic,
    summary="Figures of one activity",
    description="`activity_iri` is the activity IRI (URL-encoded).",
)
async def get_course(activity_iri: str, flt: FilterDep, read_model: ReadModelDep) -> ActivityPublic:
    return ActivityPublic.model_validate(await queries.get_activity(read_model, activity_iri, flt))
