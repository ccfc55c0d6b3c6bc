"""A definition's validation errors as a user reads them: one problem per field path (`where.all[0].value`), in
plain words."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from tern.errors import Problem
from tern.segments.criteria import CRITERION_KINDS, NODE_TAGS
from tern.segments.values import shown

_UNION_MEMBERS = frozenset({"str", "bool", "int", "float", "constrained-str", "list"})


def _is_union_member(part: int | str) -> bool:
    return isinstance(part, str) and (part in _UNION_MEMBERS or (part.endswith("]") and "[" in part))


def format_loc(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the field path a user reads: where.all[0].value."""
    out = ""
    expect_tag = False
    previous: int | str | None = None
    for position, part in enumerate(loc):
        if _is_union_member(part):
            continue  # which member of a scalar union failed is noise to the user
        if expect_tag and isinstance(part, str) and part in NODE_TAGS:
            expect_tag = False
            previous = part
            continue
        if isinstance(part, int):
            out += f"[{part}]"
            expect_tag = previous in ("all", "any")
        else:
            out += ("." if out else "") + part
            expect_tag = (part == "where" and position == 0) or part == "not"
        previous = part
    return out


_EXPECTED = {
    "float_type": "a number", "float_parsing": "a number", "int_type": "a whole number",
    "int_parsing": "a whole number", "int_from_float": "a whole number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "text", "list_type": "a list [...]",
    "tuple_type": "a list [...]", "dict_type": "an object {...}", "model_type": "an object {...}",
    "model_attributes_type": "an object {...}", "date_type": "a date YYYY-MM-DD",
    "finite_number": "a finite number",
}  # fmt: skip


def problem_message(error: Any, what: str = "criterion") -> str:
    """The plain message for one pydantic error item; `what` names the tagged things (criterion, step)."""
    kind = error["type"]
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        if what == "criterion":
            return f"unknown criterion kind {tag!r}; known kinds: {', '.join(CRITERION_KINDS)}"
        return f"unknown {what} kind {tag!r}; known kinds: {error.get('ctx', {}).get('expected_tags', '')}"
    if kind == "union_tag_not_found":
        if what == "criterion":
            return 'expected a criterion with a "kind", or one group: {"all": [...]}, {"any": [...]} or {"not": ...}'
        return f'expected a {what} with a "kind"'
    if kind == "extra_forbidden":
        return "unknown field"
    if "unable to parse raw data as a unicode string" in error["msg"]:
        return "must be valid Unicode text (no lone surrogates)"
    if kind in _EXPECTED and any(_is_union_member(part) for part in error.get("loc", ())):
        return f"expected text, a number or true/false, got {shown(error.get('input'))}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {shown(error.get('input'))}"
    ctx = error.get("ctx") or {}
    if kind in ("too_short", "too_long"):
        n = int(ctx.get("min_length" if kind == "too_short" else "max_length", 0))
        return (
            f"needs at least {n} {'value' if n == 1 else 'values'}"
            if kind == "too_short"
            else f"takes at most {n} {'value' if n == 1 else 'values'}"
        )
    if kind in _PLAIN:
        return _PLAIN[kind].format(**{k: _listed(v) for k, v in ctx.items()})
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _listed(value: Any) -> Any:
    """A pydantic context value as words: 'a' or 'b' for an expected literal, the number for a bound."""
    return value.replace("'", "") if isinstance(value, str) else value


# pydantic's own wording ("String should have at least 1 character") as a marketer reads it
_PLAIN = {
    "missing": "is required",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long: at most {max_length} characters",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "string_pattern_mismatch": "may hold letters, digits, _ and - only",
    "literal_error": "must be one of: {expected}",
    "enum": "must be one of: {expected}",
    "date_from_datetime_parsing": "expected a date YYYY-MM-DD",
    "datetime_from_date_parsing": "expected a date and time, such as 2026-12-08T10:00:00+01:00",
    "datetime_parsing": "expected a date and time, such as 2026-12-08T10:00:00+01:00",
    "date_parsing": "expected a date YYYY-MM-DD",
    "url_parsing": "expected a web address (https://...)",
}


def problems_from(errors: Iterable[Any], prefix: str = "", what: str = "criterion") -> list[Problem]:
    """One problem per field path (a scalar that fits no member of its union fails once per member)."""
    problems: dict[str, Problem] = {}
    for item in errors:
        path = format_loc(tuple(item["loc"]))
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        problems.setdefault(path, Problem(path, problem_message(item, what)))
    return list(problems.values())


def problems_of(error: ValidationError, prefix: str = "") -> list[Problem]:
    return problems_from(error.errors(), prefix)
