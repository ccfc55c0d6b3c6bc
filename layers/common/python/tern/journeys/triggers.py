"""What a contact event does to journeys: it is recorded in the events dataset (segments see it), and for
every published journey of the org, a goal it meets converts the contact and an exit event marks it to
leave at its next step (tern.journeys.steps checks the mark).

A goal counts once per contact and journey: the contact entered the journey, and the event's own time lies
within `within` of that entry (a held-out contact converts too: that is the control group's conversion).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tern.clock import Clock, naive_utc, utc_now
from tern.journeys.matching import ContactEvent
from tern.journeys.model import Journey
from tern.journeys.repository import JourneyRepository
from tern.ports import Events

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
    events: Events
    clock: Clock = utc_now

    def take(self, org_id: str, events: list[ContactEvent]) -> dict[str, int]:
        now = naive_utc(self.clock())
        rows = [e.row(now) for e in events]
        watching = [j for j in self.journeys.list_journeys(org_id) if j.status in WATCHED and (j.goal or (j.exit and j.exit.on_event))]
        recorded: list[dict[str, Any]] = list(rows)
        converted = exits = 0
        for row in rows:
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
        return {"accepted": len(rows), "converted": converted, "exits": exits}
