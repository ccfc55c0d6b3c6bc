"""Times in journey definitions: durations and moments, written as ISO 8601 text and within a path's year."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from tern.segments.values import EARLIEST, LATEST, check_date_range

# A contact's path is one Standard Step Functions execution, which lasts at most a year (a Wait at most
# 99,999,999 s): no single wait or timeout may be longer than that year, and publishing checks whole paths.
EXECUTION_LIMIT = dt.timedelta(days=365)


def _positive(value: dt.timedelta) -> dt.timedelta:
    if value <= dt.timedelta(0):
        raise ValueError("must be a positive duration")
    if value > EXECUTION_LIMIT:
        raise ValueError("must be at most 365 days (P365D): a journey's path runs at most a year")
    return value


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("needs a timezone offset, e.g. 2026-12-08T10:00:00+01:00")
    check_date_range(value.date())
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"dates must lie between {EARLIEST} and {LATEST}") from None
    return value


def _iso_text(value: object) -> object:
    if not isinstance(value, (str, dt.datetime, dt.timedelta)):  # not a number of seconds, nor a Unix time
        raise ValueError("expected ISO 8601 text, e.g. P1D or 2026-12-08T10:00:00+01:00")
    return value


Duration = Annotated[dt.timedelta, BeforeValidator(_iso_text), AfterValidator(_positive)]
Moment = Annotated[dt.datetime, BeforeValidator(_iso_text), AfterValidator(_aware)]


def _bounded(value: dt.timedelta) -> dt.timedelta:
    if abs(value) > EXECUTION_LIMIT:
        raise ValueError("must be within 365 days either way")
    return value


SignedDuration = Annotated[dt.timedelta, BeforeValidator(_iso_text), AfterValidator(_bounded)]  # "-P1D": a day before
