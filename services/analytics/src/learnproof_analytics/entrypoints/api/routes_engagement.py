"""Routes: engagement (active learners, sessions, video progress, drop-off)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from learnproof_analytics.entrypoints.api.auth import Reader
from learnproof_analytics.entrypoints.api.deps import FilterDep, PagingDep, ReadModelDep
from learnproof_analytics.entrypoints.api.schemas import (
    ActivePeriodPublic,
    ActiveReport,
    DropOffPublic,
    FunnelPublic,
    SessionReportPublic,
    VideoPublic,
)
from learnproof_analytics.service_layer import queries

router = APIRouter(prefix="/v1/engagement", tags=["engagement"], dependencies=[Reader])


@router.get("/active", response_model=ActiveReport, summary="Active learners per day or week")
async def active(
    flt: FilterDep,
    read_model: ReadModelDep,
    granularity: Annotated[Literal["day", "week"], Query()] = "day",
) -> ActiveReport:
    periods = await queries.active(read_model, flt, granularity)
    return ActiveReport(
        granularity=granularity, periods=[ActivePeriodPublic.model_validate(p) for p in periods]
    )


@router.get("/sessions", response_model=SessionReportPublic, summary="Sessions and their outcome")
async def sessions(
    flt: FilterDep, paging: PagingDep, read_model: ReadModelDep
) -> SessionReportPublic:
    report = await queries.sessions(read_model, flt, paging.cursor, paging.limit)
    return SessionReportPublic.model_validate(report)


@router.get("/video", response_model=list[VideoPublic], summary="Video progress per video")
async def video(flt: FilterDep, read_model: ReadModelDep) -> list[VideoPublic]:
    return [VideoPublic.model_validate(v) for v in await queries.videos(read_model, flt)]


@router.get("/dropoff", response_model=list[DropOffPublic], summary="Enrolment funnel per activity")
async def drop_off(flt: FilterDep, read_model: ReadModelDep) -> list[DropOffPublic]:
    funnels = await queries.drop_off(read_model, flt)
    return [DropOffPublic(activity_id=a, funnel=FunnelPublic.model_validate(f)) for a, f in funnels]
