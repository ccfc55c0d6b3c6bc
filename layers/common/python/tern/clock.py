"""Time as the library sees it. `now` is a callable giving naive UTC; a clock may also run compressed.

A compressed clock (the local stack's `--time-scale`) has a `scale` (Tern seconds per wall second) and
`to_wall(at)`, the wall-clock moment when Tern time reaches `at`. Step Functions waits and timeouts run on
the wall clock, so whatever schedules them converts with these two; the real clock converts to itself.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, WithJsonSchema

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def naive_utc(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at


def iso_utc(at: dt.datetime) -> str:
    """An instant as ISO 8601 text in UTC with its `Z` (a naive time is UTC, as everywhere in Tern)."""
    return naive_utc(at).isoformat() + "Z"


# A record's moment: naive UTC inside Tern, ISO 8601 with `Z` in its JSON (the API's answers, stored bodies).
Instant = Annotated[
    dt.datetime, AfterValidator(naive_utc), PlainSerializer(iso_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]  # fmt: skip


def wall_seconds(clock: Clock, seconds: float) -> int:
    """Wall seconds for a span of Tern seconds (at least 1: Step Functions' timeouts are positive)."""
    scale = float(getattr(clock, "scale", 1.0))
    return max(1, math.ceil(seconds / scale))


def wall_timestamp(clock: Clock, at: dt.datetime) -> str:
    """`wall_time` as a Wait state's Timestamp, rounded up to the second (never wakes before `at`)."""
    wall = wall_time(clock, at)
    if wall.microsecond:
        wall = wall.replace(microsecond=0) + dt.timedelta(seconds=1)
    return wall.strftime("%Y-%m-%dT%H:%M:%SZ")


def wall_time(clock: Clock, at: dt.datetime) -> dt.datetime:
    """The wall-clock moment (naive UTC) when Tern time reaches `at`."""
    to_wall = getattr(clock, "to_wall", None)
    return to_wall(naive_utc(at)) if to_wall else naive_utc(at)  # type: ignore[no-any-return]
