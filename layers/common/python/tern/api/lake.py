"""What the segment editor offers as a marketer builds: the lake's fields with their types, and a field's most
common values (tern.usecases.suggest)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tern.api.context import org_id, services
from tern.api.contract import answers, ref
from tern.segments.suggestions import asked
from tern.text import OneLine
from tern.usecases.suggest import lake_fields, lake_values

router = Router()


@router.get("/lake/fields", responses=answers(200, ref("LakeFields"), 502, description="The fields (custom attributes once read)"))
def get_fields() -> dict[str, Any]:
    return lake_fields(services(router), org_id(router))


@router.get(
    "/lake/values",
    responses=answers(
        200, ref("LakeValues"), 502, description="The most common values", also={202: ("Still reading: ask again", ref("LakeValues"))}
    ),
)
def get_values(
    field: Annotated[str, Query(min_length=1, max_length=220), OneLine],
    event_type: Annotated[str | None, Query(min_length=1, max_length=200), OneLine] = None,
) -> tuple[dict[str, Any], int]:
    """A contact field (city, tags, attributes.KEY) or an event field (events.link, of one event_type if given)."""
    answer, done = lake_values(services(router), org_id(router), asked(field, event_type))
    return answer, 200 if done else 202
