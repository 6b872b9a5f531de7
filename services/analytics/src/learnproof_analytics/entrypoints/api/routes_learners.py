"""Routes: per-learner progress."""

from __future__ import annotations

from fastapi import APIRouter

from learnproof_analytics.entrypoints.api.auth import Reader
from learnproof_analytics.entrypoints.api.deps import FilterDep, PagingDep, ReadModelDep
from learnproof_analytics.entrypoints.api.schemas import (
    LearnerDetailPublic,
    LearnerPage,
    LearnerPublic,
    LinkedUserPublic,
)
from learnproof_analytics.service_layer import queries
from learnproof_analytics.service_layer.queries import LearnerView

router = APIRouter(prefix="/v1/learners", tags=["learners"], dependencies=[Reader])


def _public(view: LearnerView, detail: bool) -> LearnerPublic:
    model = LearnerDetailPublic if detail else LearnerPublic
    users = [LinkedUserPublic.model_validate(u) for u in view.users]
    return model.model_validate(view.progress).model_copy(update={"users": users})


@router.get("", response_model=LearnerPage, summary="Learners' progress, by actor key")
async def list_learners(flt: FilterDep, paging: PagingDep, read_model: ReadModelDep) -> LearnerPage:
    page = await queries.list_learners(read_model, flt, paging.cursor, paging.limit)
    return LearnerPage(items=[_public(v, False) for v in page.items], next_cursor=page.next_cursor)


@router.get(
    "/{actor:path}",
    response_model=LearnerDetailPublic,
    summary="One learner's progress with per-activity detail",
    description="`actor` is the actor key, e.g. `mbox:mailto:ada@example.org` (URL-encoded).",
)
async def get_learner(actor: str, flt: FilterDep, read_model: ReadModelDep) -> LearnerPublic:
    return _public(await queries.get_learner(read_model, actor, flt), True)
