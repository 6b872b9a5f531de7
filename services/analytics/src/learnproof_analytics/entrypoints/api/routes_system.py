"""Routes: health and the directory groups known to analytics."""

from __future__ import annotations

from fastapi import APIRouter

from learnproof_analytics.entrypoints.api.auth import Reader
from learnproof_analytics.entrypoints.api.deps import ContainerDep, ReadModelDep
from learnproof_analytics.entrypoints.api.schemas import GroupPublic, HealthPublic
from learnproof_analytics.service_layer import queries

router = APIRouter(tags=["system"])


@router.get("/v1/health", response_model=HealthPublic, summary="Liveness and consumer positions")
async def health(container: ContainerDep) -> HealthPublic:
    counts = await container.read_model.counts()
    positions = await container.read_model.consumer_positions()
    return HealthPublic(status="ok", counts=counts, consumers=positions)


@router.get(
    "/v1/groups",
    response_model=list[GroupPublic],
    dependencies=[Reader],
    tags=["directory"],
    summary="Directory groups (from identity-sync) to cut figures by",
)
async def groups(read_model: ReadModelDep) -> list[GroupPublic]:
    return [GroupPublic.model_validate(g) for g in await queries.groups(read_model)]
