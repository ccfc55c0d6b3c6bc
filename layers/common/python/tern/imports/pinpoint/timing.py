"""Pinpoint's times as Tern's: its UTC-offset time zones, quiet time, open hours and closed days."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

from tern.imports.report import Findings

# Pinpoint's time zones are UTC offsets ("UTC+05:30"). A whole-hour offset is a fixed IANA zone (Etc/GMT-5 is
# UTC+05: the sign is POSIX's); the others are the place that keeps that offset.
PLACES = {
    "+03:30": "Asia/Tehran", "+04:30": "Asia/Kabul", "+05:30": "Asia/Kolkata", "+05:45": "Asia/Kathmandu", "+06:30": "Asia/Yangon",
    "+08:45": "Australia/Eucla", "+09:30": "Australia/Darwin", "+10:30": "Australia/Lord_Howe", "+12:45": "Pacific/Chatham",
    "+13:45": "Pacific/Chatham", "-02:30": "America/St_Johns", "-03:30": "America/St_Johns", "-09:30": "Pacific/Marquesas",
}  # fmt: skip
SEASONAL = {"Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns"}  # they move with daylight saving
DAYS = {"MONDAY": "mon", "TUESDAY": "tue", "WEDNESDAY": "wed", "THURSDAY": "thu", "FRIDAY": "fri", "SATURDAY": "sat", "SUNDAY": "sun"}
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class BadValue(ValueError):
    """A value the document should not hold: the import is refused with its path."""

    def __init__(self, path: str, message: str):
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}")


def zone(value: str, where: str, findings: Findings) -> str:
    """Tern's time zone (an IANA name) for a Pinpoint one."""
    if value in ("UTC", "GMT", "Z"):
        return "UTC"
    match = re.fullmatch(r"(?:UTC|GMT)([+-])(\d{1,2})(?::?(\d{2}))?", value)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), match.group(3) or "00"
        if minutes == "00" and hours <= 14:
            return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}" if hours else "UTC"
        place = PLACES.get(f"{sign}{hours:02d}:{minutes}")
        if place:
            if place in SEASONAL:
                findings.differs(where, f"{value} is kept as {place}, which moves with daylight saving")
            return place
    try:
        zoneinfo.ZoneInfo(value)
        return value
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BadValue(f"{where}", f"unknown time zone {value!r}") from None


def clock(value: Any, where: str) -> str:
    if not isinstance(value, str) or not CLOCK.fullmatch(value):
        raise BadValue(f"{where}", f"expected a time of day HH:MM, got {value!r}")
    return value


def quiet_time(quiet: dict[str, Any], wait: bool, where: str, findings: Findings) -> dict[str, Any] | None:
    """The send window outside Pinpoint's quiet time (Start to End, across midnight when End is earlier)."""
    if not quiet.get("Start") or not quiet.get("End"):
        return None
    start, end = clock(quiet["Start"], f"{where}.Start"), clock(quiet["End"], f"{where}.End")
    outside = "wait" if wait else "skip"
    if start == end:
        findings.differs(where, "quiet time of no length: no window")
        return None
    if end < start:  # quiet 22:00-08:00: send 08:00-22:00
        findings.mapped(where)
        return {"start": end, "end": start, "outside": outside}
    # quiet 01:00-05:00 leaves two stretches to send in; Tern's window is one: the longer
    before, after = _minutes(start), 24 * 60 - _minutes(end)
    findings.differs(
        where,
        f"a quiet time inside one day leaves two stretches; the window is the longer one ({'00:00-' + start if before > after else end + '-24:00'})",
    )
    return {"start": "00:00", "end": start, "outside": outside} if before > after else {"start": end, "end": "24:00", "outside": outside}


def open_hours(hours: dict[str, Any], wait: bool, where: str, findings: Findings) -> dict[str, Any] | None:
    """Tern's one send window for Pinpoint's OpenHours (per channel, per day, several ranges)."""
    channels = {c: rules for c, rules in hours.items() if rules}
    if not channels:
        return None
    chosen = "EMAIL" if "EMAIL" in channels else "SMS" if "SMS" in channels else next(iter(channels))
    rules = channels[chosen]
    if any(other != rules for other in channels.values()):
        findings.differs(where, f"one window for every channel in Tern: {chosen}'s open hours")
    days, ranges = [], set()
    for day, day_rules in rules.items():
        if day not in DAYS:
            raise BadValue(f"{where}.{chosen}.{day}", "not a day of the week")
        for i, rule in enumerate(day_rules):
            ranges.add(
                (
                    clock(rule.get("StartTime"), f"{where}.{chosen}.{day}[{i}].StartTime"),
                    clock(rule.get("EndTime"), f"{where}.{chosen}.{day}[{i}].EndTime"),
                )
            )
        if day_rules:
            days.append(DAYS[day])
    if not ranges:
        return None
    start, end = min(r[0] for r in ranges), max(r[1] for r in ranges)
    if len(ranges) > 1 or any(len(r) > 1 for r in rules.values()):
        findings.differs(where, f"several open-hour ranges become one window, {start}-{end} on the days that have any")
    else:
        findings.mapped(where)
    order = list(DAYS.values())
    return {"days": sorted(set(days), key=order.index), "start": start, "end": end, "outside": "wait" if wait else "skip"}


def closed_days(closed: dict[str, Any], where: str, findings: Findings) -> list[str]:
    """The calendar dates Pinpoint's ClosedDays cover (any channel's: Tern closes dates for every channel)."""
    dates: set[dt.date] = set()
    partial = False
    for channel, rules in closed.items():
        for i, rule in enumerate(rules or []):
            here = f"{where}.{channel}[{i}]"
            try:
                first = dt.datetime.fromisoformat(str(rule.get("StartDateTime")).replace("Z", "+00:00"))
                last = dt.datetime.fromisoformat(str(rule.get("EndDateTime")).replace("Z", "+00:00"))
            except ValueError:
                raise BadValue(f"{here}", "StartDateTime and EndDateTime must be ISO 8601 date-times") from None
            if last < first:
                raise BadValue(f"{here}", "EndDateTime is before StartDateTime")
            if (last - first).days > 366:
                raise BadValue(f"{here}", "closed for more than a year")
            partial = partial or first.time() != dt.time() or last.time() not in (dt.time(), dt.time(23, 59), dt.time(23, 59, 59))
            day = first.date()
            while day <= last.date():
                dates.add(day)
                day += dt.timedelta(days=1)
    if len({tuple(map(str, r or [])) for r in closed.values()}) > 1:
        findings.differs(where, "Tern closes a date for every channel: the dates any channel closes")
    elif partial:
        findings.differs(where, "closed for whole days: a range starting or ending within a day closes that day")
    else:
        findings.mapped(where)
    if len(dates) > 366:
        raise BadValue(f"{where}", "more than 366 closed dates")
    return [d.isoformat() for d in sorted(dates)]


def _minutes(value: str) -> int:
    return int(value[:2]) * 60 + int(value[3:])
