"""OpenID AuthZEN 1.0 access evaluation API and its discovery document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ..service_layer import gate
from .authzen_models import (
    EvaluationRequest,
    EvaluationResponse,
    EvaluationsRequest,
    EvaluationsResponse,
)
from .deps import ContainerDep, bearer

router = APIRouter()
guarded = [Depends(bearer("gate", open_when_empty=True))]


@router.get("/.well-known/authzen-configuration")
async def authzen_configuration(request: Request, c: ContainerDep) -> dict[str, Any]:
    configured = c.settings.public_base_url
    base = configured.rstrip("/") if configured else str(request.base_url).rstrip("/")
    return {
        "policy_decision_point": base,
        "access_evaluation_endpoint": f"{base}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{base}/access/v1/evaluations",
    }


@router.post("/access/v1/evaluation", dependencies=guarded)
async def evaluation(c: ContainerDep, body: EvaluationRequest) -> EvaluationResponse:
    async with c.services.transaction() as tx:
        decision = await gate.evaluate_access(tx, body.model_dump(exclude_none=True))
    return EvaluationResponse.model_validate(decision.to_authzen())


@router.post("/access/v1/evaluations", dependencies=guarded)
async def evaluations(c: ContainerDep, body: EvaluationsRequest) -> EvaluationsResponse:
    async with c.services.transaction() as tx:
        decisions = await gate.evaluate_batch(tx, body.model_dump(exclude_none=True))
    return EvaluationsResponse(
        evaluations=[EvaluationResponse.model_validate(d.to_authzen()) for d in decisions]
    )
