"""Routes: per-course / per-activity figures."""

from __future__ import annotations

from fastapi import APIRouter

from learnproof_analytics.entrypoints.api.auth import Reader
from learnproof_analytics.entrypoints.api.deps import FilterDep, PagingDep, ReadModelDep
from learnproof_analytics.entrypoints.api.schemas import ActivityPage, ActivityPublic
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
    "/{activity_iri:path}",
    response_model=ActivityPublic,
    summary="Figures of one activity",
    description="`activity_iri` is the activity IRI (URL-encoded).",
)
async def get_course(activity_iri: str, flt: FilterDep, read_model: ReadModelDep) -> ActivityPublic:
    return ActivityPublic.model_validate(await queries.get_activity(read_model, activity_iri, flt))
