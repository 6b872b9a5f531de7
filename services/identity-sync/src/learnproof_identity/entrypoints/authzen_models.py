"""AuthZEN 1.0 request and response bodies (pydantic at the edge, OpenAPI for free)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Entity(BaseModel):
    """A subject or a resource: `type` + `id` (+ free-form properties)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1)
    id: str = Field(min_length=1)
    properties: dict[str, Any] | None = None


class Action(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    properties: dict[str, Any] | None = None


class EvaluationRequest(BaseModel):
    """`POST /access/v1/evaluation`; context.as_of (ISO 8601) asks about the past."""

    subject: Entity
    action: Action | None = None
    resource: Entity
    context: dict[str, Any] | None = None


class EvaluationItem(BaseModel):
    subject: Entity | None = None
    action: Action | None = None
    resource: Entity | None = None
    context: dict[str, Any] | None = None


class EvaluationsRequest(EvaluationItem):
    """`POST /access/v1/evaluations`: items inherit what they leave out from the top level."""

    evaluations: list[EvaluationItem] | None = None


class EvaluationResponse(BaseModel):
    decision: bool
    context: dict[str, Any]


class EvaluationsResponse(BaseModel):
    evaluations: list[EvaluationResponse]
