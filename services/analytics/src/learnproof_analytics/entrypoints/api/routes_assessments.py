"""Routes: pre/post assessment deltas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from learnproof_analytics.entrypoints.api.auth import Reader
from learnproof_analytics.entrypoints.api.deps import ContainerDep, FilterDep
from learnproof_analytics.entrypoints.api.schemas import (
    CourseDeltas,
    DeltaReportPublic,
    DeltaSummaryPublic,
    GroupDeltas,
    PairPublic,
)
from learnproof_analytics.service_layer import queries

router = APIRouter(prefix="/v1/assessments", tags=["assessments"], dependencies=[Reader])


@router.get(
    "/deltas",
    response_model=DeltaReportPublic,
    summary="Pre/post deltas: raw, Hake's g (per learner and class average), paired d_z",
)
async def deltas(
    flt: FilterDep,
    container: ContainerDep,
    include_pairs: Annotated[bool, Query(description="Also return every pair.")] = False,
) -> DeltaReportPublic:
    report = await queries.assessment_deltas(container.read_model, flt, container.assessment)
    return DeltaReportPublic(
        overall=DeltaSummaryPublic.model_validate(report.overall),
        by_course=[
            CourseDeltas(course=c, summary=DeltaSummaryPublic.model_validate(s))
            for c, s in report.by_course
        ],
        by_group=[
            GroupDeltas(group=g, summary=DeltaSummaryPublic.model_validate(s))
            for g, s in report.by_group
        ],
        pairs=[PairPublic.model_validate(p) for p in report.pairs] if include_pairs else None,
    )
