"""When a journey may send: a weekly window of opening hours and closed dates, in each contact's own time zone.

    "send_window": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "20:00", "outside": "wait"},
    "closed_dates": ["2026-12-24", "2026-12-25"]

A send step asks `next_opening` when the contact gets there: None if it is open now (so the message goes at
once), else the instant the window next opens: the first of the window's days, at or after today, that is
not a closed date, at `start` on the contact's wall clock. Wall-clock times are read in the contact's zone
(its `timezone` column, else the journey's), so daylight saving moves the instant and never the hour: a
9:00 opening is 8:00 UTC in a Warsaw winter and 7:00 UTC in its summer. A start that falls in a
spring-forward gap opens when the clock jumps past it (02:30 on the night 02:00 becomes 03:00 opens at
03:00); in the autumn's repeated hour, the first one.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


class SendWindow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)] = Field(default_factory=lambda: list(WEEKDAYS))
    start: str = "00:00"
    end: str = "24:00"
    outside: Literal["wait", "skip"] = "wait"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.fullmatch(value):
            raise ValueError("expected a time of day HH:MM, 00:00 to 24:00")
        return value

    @field_validator("days")
    @classmethod
    def _distinct(cls, days: list[Weekday]) -> list[Weekday]:
        if len(set(days)) != len(days):
            raise ValueError("each day at most once")
        return days

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must come before end {self.end} (a window lies within one day)")
        return self


def zone_of(name: object, default: str) -> zoneinfo.ZoneInfo:
    """The contact's time zone: its own IANA name when it is one, else the journey's."""
    if isinstance(name, str) and name and len(name) <= 64:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return zoneinfo.ZoneInfo(default)


def _at(day: dt.date, clock: str, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time on a day in a zone (24:00 is the next midnight)."""
    if clock == "24:00":
        return _at(day + dt.timedelta(days=1), "00:00", zone)
    wanted = dt.datetime.combine(day, dt.time(int(clock[:2]), int(clock[3:])))
    instant = wanted.replace(tzinfo=zone).astimezone(dt.UTC)  # fold 0: the first of a repeated hour
    if instant.astimezone(zone).replace(tzinfo=None) == wanted:
        return instant
    return _gap_end(wanted, zone)


def _gap_end(wanted: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant whose wall-clock time is at or after `wanted` (a time the clock jumped over)."""
    probe = (wanted - dt.timedelta(hours=3)).replace(tzinfo=zone).astimezone(dt.UTC)
    step = dt.timedelta(minutes=15)
    while probe.astimezone(zone).replace(tzinfo=None) < wanted:
        probe += step
    while (probe - dt.timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None) >= wanted:
        probe -= dt.timedelta(minutes=1)
    return probe


def next_opening(
    now: dt.datetime, zone: zoneinfo.ZoneInfo, window: SendWindow | None, closed: frozenset[dt.date] = frozenset()
) -> dt.datetime | None:
    """None when a send may go now; else the UTC instant the window next opens (aware). `now` is aware.
    A window closed for good (every opening day closed for a year) answers the date a year on."""
    if window is None and not closed:
        return None
    window = window or SendWindow()
    today = now.astimezone(zone).date()
    for offset in range(7 * (len(closed) + 1) + 1):
        day = today + dt.timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in window.days or day in closed:
            continue
        opens, closes = _at(day, window.start, zone), _at(day, window.end, zone)
        if opens <= now < closes:
            return None
        if now < opens:
            return opens
    return now + dt.timedelta(days=366)
