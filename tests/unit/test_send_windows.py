"""Send windows: the next opening in a contact's own time zone, across daylight saving and the date line."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tern.journeys.windows import WEEKDAYS, SendWindow, next_opening, zone_of

UTC = dt.UTC
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
OFFICE = SendWindow(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="20:00")


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_inside_the_window_sends_now_and_outside_waits_for_the_next_opening() -> None:
    assert next_opening(utc("2026-11-23T10:00"), WARSAW, OFFICE) is None  # Monday 11:00 in Warsaw
    assert next_opening(utc("2026-11-23T19:30"), WARSAW, OFFICE) == utc("2026-11-24T08:00")  # 20:30 local: Tuesday 9:00 CET
    assert next_opening(utc("2026-11-23T07:59"), WARSAW, OFFICE) == utc("2026-11-23T08:00")
    assert next_opening(utc("2026-11-27T19:00"), WARSAW, OFFICE) == utc("2026-11-30T08:00")  # Friday 20:00: Monday
    assert next_opening(utc("2026-11-23T18:59"), WARSAW, OFFICE) is None  # 19:59 local: still open


def test_closed_dates_are_skipped() -> None:
    closed = frozenset({dt.date(2026, 12, 24), dt.date(2026, 12, 25)})
    assert next_opening(utc("2026-12-23T20:00"), WARSAW, OFFICE, closed) == utc("2026-12-28T08:00")  # Thu, Fri closed; Mon
    assert next_opening(utc("2026-12-24T10:00"), WARSAW, None, closed) == utc("2026-12-25T23:00")  # any hour, but not the 24th/25th


def test_daylight_saving_moves_the_instant_not_the_hour() -> None:
    every_day = SendWindow(start="09:00", end="20:00")
    assert next_opening(utc("2026-03-28T20:00"), WARSAW, every_day) == utc("2026-03-29T07:00")  # CEST from that night
    assert next_opening(utc("2026-10-24T20:00"), WARSAW, every_day) == utc("2026-10-25T08:00")  # CET again
    night = SendWindow(start="02:30", end="04:00")  # 02:30 does not exist on 29 March in Warsaw
    assert next_opening(utc("2026-03-28T23:00"), WARSAW, night) == utc("2026-03-29T01:00")  # 03:00 CEST, the clock jumped past 02:30
    assert next_opening(utc("2026-10-24T23:00"), WARSAW, night) == utc("2026-10-25T00:30")  # the first 02:30 (CEST)


def test_the_date_line() -> None:
    kiritimati, pago = zoneinfo.ZoneInfo("Pacific/Kiritimati"), zoneinfo.ZoneInfo("Pacific/Pago_Pago")  # UTC+14, UTC-11
    monday_only = SendWindow(days=["mon"], start="09:00", end="10:00")
    # the same instant is Monday 09:30 on Kiritimati and Sunday 08:30 in Pago Pago
    now = utc("2026-11-22T19:30")
    assert next_opening(now, kiritimati, monday_only) is None
    assert next_opening(now, pago, monday_only) == utc("2026-11-23T20:00")  # Monday 09:00 at UTC-11


def test_a_contacts_zone_falls_back_to_the_journeys() -> None:
    assert zone_of("Asia/Tokyo", "UTC").key == "Asia/Tokyo"
    assert zone_of("Mars/Olympus", "Europe/Warsaw").key == "Europe/Warsaw"
    assert zone_of(None, "Europe/Warsaw").key == "Europe/Warsaw"
    assert zone_of("../../etc/passwd", "UTC").key == "UTC"


@pytest.mark.parametrize(
    "window",
    [{"start": "20:00", "end": "09:00"}, {"start": "9:00"}, {"end": "24:01"}, {"days": ["mon", "mon"]}, {"days": []}, {"days": ["monday"]}],
)
def test_bad_windows_are_refused(window: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SendWindow.model_validate(window)


zones = st.sampled_from(
    ["Europe/Warsaw", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham", "UTC", "America/Santiago"]
)


@settings(max_examples=300, deadline=None)
@given(
    zone=zones, minutes=st.integers(0, 2 * 366 * 24 * 60), days=st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True),
    hours=st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda h: h[0] < h[1]),
)  # fmt: skip
def test_the_opening_is_inside_the_window_and_nothing_earlier_is(zone: str, minutes: int, days: list[str], hours: tuple[int, int]) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    window = SendWindow.model_validate({"days": days, "start": f"{hours[0]:02d}:00", "end": f"{hours[1]:02d}:00"})
    now = utc("2026-01-01T00:00") + dt.timedelta(minutes=minutes)

    def open_at(instant: dt.datetime) -> bool:
        local = instant.astimezone(tz)
        return WEEKDAYS[local.weekday()] in window.days and hours[0] <= local.hour < hours[1]

    opening = next_opening(now, tz, window)
    if opening is None:
        assert open_at(now)
        return
    assert not open_at(now) and opening > now
    assert open_at(opening) or open_at(opening + dt.timedelta(minutes=1))
    probe = now + dt.timedelta(minutes=30)  # no opening in between, checked every half hour
    while probe < opening - dt.timedelta(minutes=30):
        assert not open_at(probe), (probe, opening)
        probe += dt.timedelta(minutes=30)
