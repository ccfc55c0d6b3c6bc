"""What every value in a segment definition is held to: the limits checked at the door, dates and times within
the supported range, and the scalar types criteria are built from."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tern.text import OneLine

# Limits checked at the door (docs/SEGMENT-FORMAT.md, "Limits"): what Tern accepts it can store, read back,
# list, evaluate and delete, and no definition runs an unbounded query.
MAX_DEPTH = 10  # groups inside groups; `where` itself is level 1
MAX_CRITERIA = 200
MAX_VALUES = 1000  # per criterion (values, filter values)
MAX_TEXT = 1000  # characters in a value, a field name, an event type
MAX_DEFINITION_BYTES = 64 * 1024  # the definition as compact JSON; DynamoDB holds 400 KB per item
EARLIEST = dt.date(1800, 1, 1)
LATEST = dt.date(2199, 12, 31)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?")


def check_date_range(day: dt.date) -> None:
    """ValueError unless `day` lies between EARLIEST and LATEST (what every date Tern takes must)."""
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"dates must lie between {EARLIEST} and {LATEST}")


def parse_day(value: Any) -> dt.date:
    """A date written YYYY-MM-DD within the supported range, or ValueError saying what was expected."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = value
    elif isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{json.dumps(value)} is not a calendar date") from None
    else:
        raise ValueError(f"expected a date YYYY-MM-DD, got {shown(value)}")
    check_date_range(day)
    return day


def parse_time(text: str) -> dt.datetime:
    """An ISO date-time as a naive UTC datetime (a zone-less time is UTC), within the supported range."""
    if not _ISO_TIME.fullmatch(text):
        raise ValueError(f"expected an ISO date-time, e.g. 2026-11-22T09:30:00Z, got {json.dumps(text)}")
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    check_date_range(value.date())  # before any offset is applied: year 1 minus an hour does not exist
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    check_date_range(value.date())
    return value


def shown(value: Any) -> str:
    """A value as a message quotes it: JSON, cut to 60 characters."""
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), OneLine]
Scalar = Union[Annotated[str, Field(max_length=MAX_TEXT), OneLine], bool, int, float]
Day = Annotated[dt.date, BeforeValidator(parse_day)]
Days = Annotated[int, Field(strict=True, ge=0, le=36500)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Comparison = Literal["eq", "ne", "gt", "gte", "lt", "lte"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
