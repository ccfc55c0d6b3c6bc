"""Segment routes: drafts, lifecycle, preview, refresh, members and history."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from tern.api.context import org_id, services
from tern.api.contract import answers, array_of, obj, ref
from tern.api.responses import segment_json
from tern.segments.definition import SegmentDefinition
from tern.segments.examples import examples
from tern.segments.lifecycle import SegmentDraft
from tern.usecases.members import members_page
from tern.usecases.preview import preview, preview_status
from tern.usecases.refresh import start_refresh

router = Router()


@router.post("/segments", responses=answers(201, ref("Segment"), 409, description="Created, as a draft"))
def create_segment(draft: Annotated[SegmentDraft, Body()]) -> tuple[dict[str, Any], int]:
    s = services(router)
    return segment_json(s.segments(org_id(router)).create(draft, s.clock())), 201


@router.get("/examples/segments", responses=answers(200, array_of("examples", ref("SegmentExample"))))
def segment_examples() -> dict[str, Any]:
    """Example definitions to start a segment from (the editor's "Start from an example")."""
    return {"examples": examples()}


@router.get("/segments", responses=answers(200, array_of("segments", ref("Segment"))))
def list_segments(include_deleted: Annotated[bool, Query()] = False) -> dict[str, Any]:
    s = services(router)
    found = s.segments(org_id(router)).list_segments(s.clock(), include_deleted=include_deleted)
    return {"segments": [segment_json(segment) for segment in found]}


@router.post(
    "/segments/preview",
    responses=answers(
        200,
        ref("Preview"),
        409,
        502,
        description="Counted within 5 s",
        also={202: ("Still counting: poll the preview", ref("PreviewStarted"))},
    ),
)
def preview_segment(definition: Annotated[SegmentDefinition, Body()]) -> tuple[dict[str, Any], int]:
    answer, done = preview(services(router), org_id(router), definition)
    return answer, 200 if done else 202


@router.get("/previews/<preview_id>", responses=answers(200, ref("PreviewStatus"), 502, description="Running, or done with the counts"))
def get_preview(preview_id: str) -> dict[str, Any]:
    return preview_status(services(router), org_id(router), preview_id)


@router.get("/segments/<segment_id>", responses=answers(200, ref("Segment")))
def get_segment(segment_id: str) -> dict[str, Any]:
    s = services(router)
    return segment_json(s.segments(org_id(router)).get(segment_id, s.clock()))


@router.put("/segments/<segment_id>", responses=answers(200, ref("Segment"), 409))
def update_segment(segment_id: str, draft: Annotated[SegmentDraft, Body()]) -> dict[str, Any]:
    s = services(router)
    return segment_json(s.segments(org_id(router)).update(segment_id, draft, s.clock()))


@router.delete("/segments/<segment_id>", responses=answers(200, ref("Segment"), 409))
def delete_segment(segment_id: str) -> dict[str, Any]:
    s = services(router)
    return segment_json(s.segments(org_id(router)).delete(segment_id, s.clock()))


@router.post("/segments/<segment_id>/restore", responses=answers(200, ref("Segment"), 409))
def restore_segment(segment_id: str) -> dict[str, Any]:
    s = services(router)
    return segment_json(s.segments(org_id(router)).restore(segment_id, s.clock()))


@router.post("/segments/<segment_id>/copy", responses=answers(201, ref("Segment"), 409))
def copy_segment(segment_id: str) -> tuple[dict[str, Any], int]:
    s = services(router)
    return segment_json(s.segments(org_id(router)).copy(segment_id, s.clock())), 201


@router.post("/segments/<segment_id>/go-live", responses=answers(200, ref("Segment"), 409))
def go_live(segment_id: str) -> dict[str, Any]:
    s = services(router)
    return segment_json(s.segments(org_id(router)).go_live(segment_id, s.clock()))


@router.post("/segments/<segment_id>/archive", responses=answers(200, ref("Segment"), 409))
def archive_segment(segment_id: str) -> dict[str, Any]:
    s = services(router)
    return segment_json(s.segments(org_id(router)).archive(segment_id, s.clock()))


@router.post(
    "/segments/<segment_id>/evaluate",
    responses=answers(202, obj("evaluation_id", "segment_id", "status", "poll"), 409, description="Started"),
)
def evaluate_segment(segment_id: str) -> tuple[dict[str, Any], int]:
    evaluation_id = start_refresh(services(router), org_id(router), segment_id)
    poll = f"/segments/{segment_id}/evaluations/{evaluation_id}"
    return {"evaluation_id": evaluation_id, "segment_id": segment_id, "status": "running", "poll": poll}, 202


@router.get("/segments/<segment_id>/evaluations/<evaluation_id>", responses=answers(200, obj("status")))
def evaluation_status(segment_id: str, evaluation_id: str) -> dict[str, Any]:
    s = services(router)
    s.segments(org_id(router)).get(segment_id, s.clock())  # not found for what the org cannot see
    return s.refreshes.status(org_id(router), segment_id, evaluation_id)


@router.get("/segments/<segment_id>/members", responses=answers(200, ref("MembersPage"), 409, 502))
def list_members(
    segment_id: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> dict[str, Any]:
    return members_page(services(router), org_id(router), segment_id, limit, cursor)


@router.get("/segments/<segment_id>/history", responses=answers(200, array_of("history", ref("Evaluation"))))
def segment_history(segment_id: str, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    s = services(router)
    history = s.segments(org_id(router)).history(segment_id, s.clock(), limit)
    return {"history": [e.model_dump(mode="json") for e in history]}
