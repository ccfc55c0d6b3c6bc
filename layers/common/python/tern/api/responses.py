"""The shapes the API answers with: objects as JSON, and problems as {"message", "problems"?}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel

from tern.errors import Problem
from tern.journeys.model import Journey
from tern.segments.segment import Segment


def problem(status: int, message: str, problems: list[Problem] | None = None) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"message": message}
    if problems is not None:
        body["problems"] = [{"path": p.path, "message": p.message} for p in problems]
    return Response(status, content_types.APPLICATION_JSON, body)


def segment_json(segment: Segment) -> dict[str, Any]:
    body = segment.model_dump(mode="json", by_alias=True, exclude={"pending_manifests", "where"})
    # the where-tree as the marketer wrote it: no unset options
    return {**body, "where": segment.model_dump(mode="json", by_alias=True, include={"where"}, exclude_none=True)["where"]}


def journey_json(journey: Journey) -> dict[str, Any]:
    return journey.model_dump(mode="json", exclude_none=True)


def job_json(job: BaseModel) -> dict[str, Any]:
    """An export or an action (its version and file key are Tern's business)."""
    return job.model_dump(mode="json", exclude={"version", "key"})
