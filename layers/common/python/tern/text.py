"""The text a user may store: valid Unicode, no control characters.

A control character (NUL, ESC, DEL, the C1 range...) in a name, a tag or a value is never what a marketer
meant, can never be matched by a segment, and breaks CSV and terminal output, so it is refused at the door
rather than stored. One-line text (names, tags, values, ids, subjects) allows none; multi-line text
(descriptions, message bodies) allows tab, line feed and carriage return.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic import AfterValidator, GetJsonSchemaHandler

_MULTI_LINE_ALLOWED = frozenset("\t\n\r")


def _problem(text: str, allowed: frozenset[str]) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    for character in text:
        if character not in allowed and unicodedata.category(character) == "Cc":
            return f"must not contain control characters (found U+{ord(character):04X})"
    return None


def one_line_problem(text: str) -> str | None:
    """Why `text` cannot be one-line user text, or None when it can."""
    return _problem(text, frozenset())


def one_line(text: str) -> str:
    """`text` unchanged, or ValueError when it holds a control character (tab and line breaks included)."""
    problem = one_line_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def multi_line(text: str) -> str:
    """`text` unchanged, or ValueError when it holds a control character other than tab and line breaks."""
    problem = _problem(text, _MULTI_LINE_ALLOWED)
    if problem:
        raise ValueError(problem)
    return text


@dataclass(frozen=True)
class _Checked(AfterValidator):
    """Validates with its function, and says so in the JSON Schema with `pattern` (so clients, and Schemathesis,
    know which strings are refused before sending them)."""

    pattern: str = ""

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        found: dict[str, Any] = handler(schema)
        found["pattern"] = self.pattern
        return found


# C0 and C1 controls and DEL (lone surrogates are refused too, but no pattern says so: JavaScript's regular
# expressions see an emoji as two surrogates)
OneLine = _Checked(one_line, pattern="^[^\\u0000-\\u001f\\u007f-\\u009f]*$")  # Annotated[str, Field(...), OneLine]
MultiLine = _Checked(multi_line, pattern="^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")
