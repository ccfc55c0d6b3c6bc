"""AWS documents checked against the service's own model (botocore's, the one the AWS CLI and SDKs use):
unknown fields, wrong types and missing required fields, each with its path in the document.

botocore is in every Lambda runtime, and its pinpoint model outlives the service: documents saved from
Pinpoint's API (`aws pinpoint get-journey`) keep the shapes named there (JourneyResponse, SegmentResponse, ...).
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


def has_shape(service: str, shape: str) -> bool:
    return shape in _model(service).shape_names


def shape_problems(service: str, shape: str, document: Any, path: str, optional: frozenset[str] = frozenset()) -> list[Problem]:
    """What in `document` does not fit the service's `shape`, each at `path` + its place in the document; a
    top-level field in `optional` may be missing though the shape requires it."""
    report = ParamValidator().validate(document, _model(service).shape_for(shape))
    problems = []
    for kind, name, detail in report._errors[:REPORTED]:  # botocore's own findings: (kind, .dotted.name, detail)
        where = path + name if name else path
        if kind == "missing required field" and not name and detail["required_name"] in optional:
            continue
        if kind == "unknown field":
            problems.append(Problem(f"{where}.{detail['unknown_param']}", f"unknown field (expected one of {', '.join(detail['valid_names'])})"))
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


_types = {"str": "text", "int": "a whole number", "float or Decimal or int": "a number", "list or tuple": "a list", "dict": "an object",
          "bool": "true or false", "datetime.datetime or str": "a date-time"}  # fmt: skip
