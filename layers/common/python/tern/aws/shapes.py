"""AWS documents checked against the service's own model (botocore's, the one the AWS CLI and SDKs use):
unknown fields, wrong types and missing required fields, each with its path in the document.

The layer ships botocore with its pinpoint model kept (layers/common/botocore-services.txt), a model that outlives
the service: documents saved from Pinpoint's API (`aws pinpoint get-journey`) keep the shapes named there
(JourneyResponse, SegmentResponse, ...).
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from tern.errors import Problem

REPORTED = 50  # the first problems of a document; the rest would not help more


@functools.cache
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def shape_problems(
    service: str,
    shape: str,
    document: Any,
    path: str,
    optional: frozenset[str] = frozenset(),
    also: dict[str, tuple[str, ...]] | None = None,
) -> list[Problem]:
    """What in `document` does not fit the service's `shape`, each at `path` + its place in the document: botocore's
    checks, and a value outside its enumeration (`also`: values a shape's documentation allows beyond its model's
    enum, by shape name). A top-level field in `optional` may be missing though the shape requires it."""
    model = _model(service).shape_for(shape)
    report = ParamValidator().validate(document, model)
    problems = _enum_problems(model, document, path, also or {})
    for kind, name, detail in report._errors[:REPORTED]:  # botocore's own findings: (kind, .dotted.name, detail)
        where = path + name if name else path
        if kind == "missing required field" and not name and detail["required_name"] in optional:
            continue
        if kind == "unknown field":
            problems.append(
                Problem(f"{where}.{detail['unknown_param']}", f"unknown field (expected one of {', '.join(detail['valid_names'])})")
            )
        elif kind == "missing required field":
            problems.append(Problem(f"{where}.{detail['required_name']}", "required"))
        elif kind == "invalid type":
            expected = " or ".join(t.split("'")[1] if "'" in t else t for t in detail["valid_types"])
            problems.append(Problem(where, f"expected {_types.get(expected, expected)}, got {type(detail['param']).__name__}"))
        elif kind == "invalid range":
            problems.append(Problem(where, f"must be at least {detail['min_allowed']}"))
        elif kind == "invalid length":
            problems.append(Problem(where, f"must be at least {detail['min_allowed']} long"))
        else:
            problems.append(Problem(where, kind))
    return problems


def _enum_problems(shape: Any, value: Any, path: str, also: dict[str, tuple[str, ...]]) -> list[Problem]:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return [
            p
            for name, member in shape.members.items()
            if name in value
            for p in _enum_problems(member, value[name], f"{path}.{name}", also)
        ]
    if kind == "list" and isinstance(value, list):
        return [p for i, item in enumerate(value[:1000]) for p in _enum_problems(shape.member, item, f"{path}[{i}]", also)]
    if kind == "map" and isinstance(value, dict):
        found = []
        for key, item in list(value.items())[:1000]:
            found += _enum_problems(shape.key, key, f"{path}.{key}", also) if shape.key.enum else []
            found += _enum_problems(shape.value, item, f"{path}.{key}", also)
        return found
    if kind == "string" and shape.enum and isinstance(value, str) and value not in shape.enum and value not in also.get(shape.name, ()):
        allowed = [*shape.enum, *also.get(shape.name, ())]
        return [Problem(path, f"{value[:100]!r} is not one of {', '.join(allowed)}")]
    return []


_types = {"str": "text", "int": "a whole number", "float or Decimal or int": "a number", "list or tuple": "a list", "dict": "an object",
          "bool": "true or false", "datetime.datetime or str": "a date-time"}  # fmt: skip
