"""What a contact event does to journeys: it is recorded in the events dataset (segments see it); for every
running event-triggered journey it matches, the contact is put in line to enter (if then in the journey's
audience, before its `ends_at`, and its reentry rules allow), a run started by the journey's schedule
every minute starting it with the event; for every published journey, a goal it meets converts the
contact and an exit event marks it to leave at its next step (tern.journeys.steps checks the mark).

A goal counts once per contact and journey: the contact entered the journey, and the event's own time lies
within `within` of that entry (a held-out contact converts too: that is the control group's conversion).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tern.clock import Clock, naive_utc, utc_now
from tern.journeys.matching import ContactEvent
from tern.journeys.model import EventEntry, Journey
from tern.journeys.repository import JourneyRepository
from tern.ports import Events
from tern.segments.repository import SegmentRepository

WATCHED = ("running", "stopped")  # a stopped journey's contacts still convert within their window


def conversion_event(journey: Journey, contact_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"goal-{journey.id}-{event['event_id']}"[:200], "contact_id": contact_id, "event_type": "journey_step",
        "ts": event["ts"], "journey_id": journey.id, "step_id": None, "outcome": "converted", "reason": event["event_type"],
        "properties": [("journey_version", str(journey.published_version or 1)), ("event_id", str(event["event_id"]))],
    }  # fmt: skip


@dataclass
class Triggers:
    journeys: JourneyRepository
    segments: SegmentRepository
    events: Events
    clock: Clock = utc_now

    def take(self, org_id: str, events: list[ContactEvent]) -> dict[str, int]:
        now = naive_utc(self.clock())
        rows = [e.row(now) for e in events]
        journeys = self.journeys.list_journeys(org_id)
        watching = [j for j in journeys if j.status in WATCHED and (j.goal or (j.exit and j.exit.on_event))]
        entering = [
            j
            for j in journeys
            if j.status == "running" and isinstance(j.entry, EventEntry) and (j.ends_at is None or now <= naive_utc(j.ends_at))
        ]
        recorded: list[dict[str, Any]] = list(rows)
        converted = exits = waiting = 0
        for row in rows:
            for journey in entering:
                waiting += self._enter(journey, row, now)
            for journey in watching:
                goal = journey.goal is not None and journey.goal.matches(row)
                leave = journey.exit is not None and journey.exit.on_event is not None and journey.exit.on_event.matches(row)
                entered = self.journeys.entered_at(org_id, journey.id, row["contact_id"]) if goal or leave else None
                if entered is None or row["ts"] < entered:
                    continue
                converts = goal and journey.goal is not None and row["ts"] <= entered + journey.goal.within
                if converts and self.journeys.convert(org_id, journey.id, row["contact_id"], row["ts"]):
                    converted += 1
                    recorded.append(conversion_event(journey, row["contact_id"], row))
                    if journey.goal is not None and journey.goal.exit:
                        self.journeys.mark_exit(org_id, journey.id, row["contact_id"], "goal", now)
                if leave:
                    exits += self.journeys.mark_exit(org_id, journey.id, row["contact_id"], f"event {row['event_type']}", now)
        self.events.write(org_id, recorded)
        return {"accepted": len(rows), "entering": waiting, "converted": converted, "exits": exits}

    def _enter(self, journey: Journey, row: dict[str, Any], now: dt.datetime) -> int:
        """Put the contact in line for an event-triggered journey (1), if the event and the journey's rules say so."""
        entry = journey.entry
        assert isinstance(entry, EventEntry)
        if not entry.matches(row):
            return 0
        contact_id = row["contact_id"]
        if entry.audience and not self.segments.is_member(journey.org_id, entry.audience, contact_id):
            return 0
        entered = self.journeys.entered_times(journey.org_id, journey.id, contact_id)
        if entered is not None and not journey.reentry.allows(*entered, now):
            return 0
        return int(self.journeys.pend(journey.org_id, journey.id, contact_id, entry_event(row), now))


def entry_event(row: dict[str, Any]) -> dict[str, Any]:
    """The entering event as the execution carries it (times as ISO text in UTC, properties an object)."""
    found = {k: v for k, v in row.items() if v is not None and k != "properties"}
    found["properties"] = dict(row.get("properties") or [])
    for name in ("ts", "event_start"):
        if isinstance(found.get(name), dt.datetime):
            found[name] = found[name].isoformat() + "Z"
    return found
