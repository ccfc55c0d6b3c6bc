"""The segment definition model: groups (all / any / not) over criteria, as SEGMENT-FORMAT.md fixes them.

`parse_definition` is the one way in: it returns a validated `SegmentDefinition` or raises
`DefinitionError` naming each offending field path (`where.all[0].value`). The criteria are in
tern.segments.criteria, the limits and value types in tern.segments.values, the error wording in
tern.segments.problems.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any, Union

from pydantic import Discriminator, Field, Tag, ValidationError, model_validator

from tern.errors import DefinitionError, Problem, TooLarge
from tern.segments.criteria import (
    GROUP_KEYS,
    ActivityCriterion,
    AgeCriterion,
    AttributeCriterion,
    Criterion,
    DistanceCriterion,
    GenderCriterion,
    JourneyOutcomeCriterion,
    LeadTimeCriterion,
    ListCriterion,
    ListMembershipCriterion,
    RecencyCriterion,
    ScoreChangeCriterion,
    SegmentMembershipCriterion,
    node_tag,
)
from tern.segments.problems import problems_of
from tern.segments.values import MAX_CRITERIA, MAX_DEFINITION_BYTES, MAX_DEPTH, Strict
from tern.text import MultiLine, OneLine


class AllGroup(Strict):
    all: list[Node]


class AnyGroup(Strict):
    any: list[Node]


class NotGroup(Strict):
    not_: Node = Field(alias="not")


Node = Annotated[
    Union[
        Annotated[AllGroup, Tag("all")],
        Annotated[AnyGroup, Tag("any")],
        Annotated[NotGroup, Tag("not")],
        Annotated[AttributeCriterion, Tag("attribute")],
        Annotated[ListCriterion, Tag("tags")],
        Annotated[ListCriterion, Tag("categories")],
        Annotated[ListCriterion, Tag("consents")],
        Annotated[AgeCriterion, Tag("age")],
        Annotated[GenderCriterion, Tag("gender")],
        Annotated[DistanceCriterion, Tag("distance")],
        Annotated[ActivityCriterion, Tag("activity")],
        Annotated[RecencyCriterion, Tag("recency")],
        Annotated[LeadTimeCriterion, Tag("lead_time")],
        Annotated[ScoreChangeCriterion, Tag("score_change")],
        Annotated[JourneyOutcomeCriterion, Tag("journey_outcome")],
        Annotated[SegmentMembershipCriterion, Tag("in_segment")],
        Annotated[SegmentMembershipCriterion, Tag("not_in_segment")],
        Annotated[ListMembershipCriterion, Tag("in_list")],
    ],
    Discriminator(node_tag),
]

AllGroup.model_rebuild()
AnyGroup.model_rebuild()
NotGroup.model_rebuild()


class SegmentDefinition(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    description: Annotated[str, Field(max_length=5000), MultiLine] = ""
    where: Node

    @model_validator(mode="before")
    @classmethod
    def _within_limits(cls, data: Any) -> Any:
        if isinstance(data, dict):
            check_limits(data)
        return data

    @model_validator(mode="after")
    def _fits(self) -> SegmentDefinition:
        size = len(self.model_dump_json(by_alias=True, exclude_none=True, exclude_defaults=True).encode("utf-8"))
        if size > MAX_DEFINITION_BYTES:  # after the fields: a bad field says what is wrong before the size does
            raise TooLarge([Problem("", f"the definition is {size:,} bytes; the limit is {MAX_DEFINITION_BYTES:,} bytes")])
        return self

    def criteria(self) -> list[tuple[str, Criterion]]:
        """Every criterion leaf with its path (`where.all[0]`), in document order."""
        return list(walk_criteria(self.where, "where"))

    def segments_referenced(self) -> list[tuple[str, str]]:
        """(path, segment id) of every in_segment / not_in_segment criterion."""
        return [(path, c.segment_id) for path, c in self.criteria() if isinstance(c, SegmentMembershipCriterion)]

    def lists_referenced(self) -> list[tuple[str, str]]:
        return [(path, c.list_id) for path, c in self.criteria() if isinstance(c, ListMembershipCriterion)]


def check_limits(data: dict[str, Any]) -> None:
    """DefinitionError when a raw definition nests deeper than MAX_DEPTH or holds more than MAX_CRITERIA criteria
    (checked before validation, which would recurse that deep); looks no deeper than MAX_DEPTH."""
    criteria = 0
    pending: list[tuple[Any, str, int]] = [(data.get("where"), "where", 1)]
    while pending:
        node, path, depth = pending.pop()
        if not isinstance(node, dict):
            continue
        groups = [key for key in GROUP_KEYS if key in node and "kind" not in node]
        if not groups:
            criteria += 1
            continue
        if depth > MAX_DEPTH:
            raise DefinitionError([Problem(path, f"groups nest at most {MAX_DEPTH} deep")])
        for key in groups:
            children = node[key]
            if key == "not":
                pending.append((children, f"{path}.not", depth + 1))
            elif isinstance(children, list):
                pending.extend((child, f"{path}.{key}[{i}]", depth + 1) for i, child in enumerate(children))
    if criteria > MAX_CRITERIA:
        raise DefinitionError([Problem("where", f"{criteria} criteria; a definition holds at most {MAX_CRITERIA}")])


def walk_criteria(node: Any, path: str) -> Iterator[tuple[str, Criterion]]:
    if isinstance(node, AllGroup):
        for i, child in enumerate(node.all):
            yield from walk_criteria(child, f"{path}.all[{i}]")
    elif isinstance(node, AnyGroup):
        for i, child in enumerate(node.any):
            yield from walk_criteria(child, f"{path}.any[{i}]")
    elif isinstance(node, NotGroup):
        yield from walk_criteria(node.not_, f"{path}.not")
    else:
        yield path, node


def parse_definition(data: Any) -> SegmentDefinition:
    """A validated definition from parsed JSON, or DefinitionError naming every bad field."""
    if not isinstance(data, dict):
        raise DefinitionError([Problem("", "a segment definition is a JSON object")])
    try:
        return SegmentDefinition.model_validate(data)
    except ValidationError as e:
        raise DefinitionError(problems_of(e)) from None


def parse_definition_json(text: str | bytes) -> SegmentDefinition:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise DefinitionError([Problem("", f"not valid JSON: {e}")]) from None
    except RecursionError:
        raise DefinitionError([Problem("", "the JSON nests too deeply")]) from None
    return parse_definition(data)


def definition_schema() -> dict[str, Any]:
    """The JSON Schema of a segment definition."""
    return SegmentDefinition.model_json_schema(by_alias=True)
