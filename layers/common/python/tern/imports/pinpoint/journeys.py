"""Pinpoint journeys and campaigns as Tern journey definitions, keeping Pinpoint's semantics where they differ
from Tern's defaults.

Activities become steps of the same ids (made Tern-safe): EMAIL and SMS sends (their templates as content),
Wait (wait_for, wait_until), ConditionalSplit (a `split` that waits its EvaluationWaitTime, then checks, as
Pinpoint does: `after`), MultiCondition (`multi_split`, first matching branch), RandomSplit and Holdout.
PUSH, CUSTOM and ContactCenter have no channel in Tern: each is left out, its predecessor leading on to
its NextActivity, and the report says what to use instead. A campaign is a one-step journey: its holdout,
its treatments as a random split, a send per channel it has a message for, on its schedule.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from tern.imports.pinpoint.segments import SegmentMapper, Unmappable, combine
from tern.imports.pinpoint.templates import from_note
from tern.imports.pinpoint.timing import BadValue, closed_days, open_hours, quiet_time, zone
from tern.imports.report import Findings
from tern.journeys.matching import EventType
from tern.journeys.times import Duration, Moment

TYPES = ("EMAIL", "SMS", "PUSH", "CUSTOM", "Wait", "ConditionalSplit", "MultiCondition", "RandomSplit", "Holdout", "ContactCenter")
LEFT_OUT = {
    "PUSH": "Tern has no push channel: the step is left out; a webhook step can hand the contact to your push provider",
    "CUSTOM": "a custom channel (Lambda or URL) is Tern's webhook step to a destination you create (POST /destinations): the step is left out; add one in its place",
    "ContactCenter": "Amazon Connect calls have no Tern equivalent: the step is left out",
}  # fmt: skip
ENGAGEMENT = {"_email.delivered": "delivered", "_email.send": "delivered", "_email.open": "opened", "_email.click": "clicked",
              "_email.hardbounce": "bounced", "_email.softbounce": "bounced", "_SMS.SUCCESS": "delivered"}  # fmt: skip
ENGAGEMENT_NOTES = {"_email.send": "Tern's engagement knows a delivered message, not a sent one: delivered",
                    "_email.softbounce": "Tern's bounced is any bounce", "_email.hardbounce": "Tern's bounced is any bounce"}  # fmt: skip
FREQUENCIES = {"HOURLY": {"every": 1, "unit": "hours"}, "DAILY": {"every": 1, "unit": "days"}, "WEEKLY": {"every": 7, "unit": "days"},
               "MONTHLY": {"every": 30, "unit": "days"}}  # fmt: skip
MAX_ACTIVITIES = 90  # Tern's 100 steps, with room for the waits a decision's EvaluationWaitTime adds
STATES = ("DRAFT", "ACTIVE", "COMPLETED", "CANCELLED", "CLOSED", "PAUSED")
DURATION: TypeAdapter[dt.timedelta] = TypeAdapter(Duration)
MOMENT: TypeAdapter[dt.datetime] = TypeAdapter(Moment)
EVENT_TYPE: TypeAdapter[str] = TypeAdapter(EventType)


class Contents(Protocol):
    """Content for the sends: an imported template's, or a campaign's own message made content."""

    def template(self, channel: str, name: str, where: str, findings: Findings) -> str: ...

    def message(self, channel: str, key: str, name: str, message: dict[str, Any], where: str, findings: Findings) -> str: ...


def step_ids(keys: list[str]) -> dict[str, str]:
    """Tern step ids (letters, digits, _ and -, up to 40) for Pinpoint's activity ids, each distinct."""
    taken: set[str] = set()
    ids = {}
    for key in keys:
        base = re.sub(r"[^A-Za-z0-9_-]", "_", key)[:36] or "step"
        candidate, n = base, 2
        while candidate.lower() in taken:
            candidate, n = f"{base}-{n}", n + 1
        taken.add(candidate.lower())
        ids[key] = candidate
    return ids


def duration(value: Any, where: str) -> str:
    try:
        DURATION.validate_python(value)
    except ValidationError as e:
        message = e.errors()[0]["msg"]
        raise BadValue(
            where, f"expected an ISO 8601 duration such as PT1H or P1D, up to a year, got {value!r}" if "timedelta" in message else message
        ) from None
    return str(value)


def moment(value: Any, where: str) -> str:
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+", text):  # no offset: Pinpoint's times are UTC
        text += "Z"
    try:
        MOMENT.validate_python(text)
    except ValidationError as e:
        raise BadValue(f"{where}", f"{e.errors()[0]['msg']} ({value!r})") from None
    return text


class JourneyMapper:
    def __init__(self, findings: Findings, segments: SegmentMapper, contents: Contents):
        self.findings = findings
        self.segments = segments
        self.contents = contents
        self.resolve_segment = segments.resolve

    # ----- journeys

    def journey(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        f = self.findings
        activities: dict[str, dict[str, Any]] = body.get("Activities") or {}
        kinds = {}
        for key, activity in activities.items():
            found = [t for t in TYPES if activity.get(t) is not None]
            if len(found) != 1:
                raise BadValue(
                    f"{where}.Activities.{key}", f"an activity is exactly one of {', '.join(TYPES)} (found {', '.join(found) or 'none'})"
                )
            kinds[key] = found[0]
        if not activities:
            raise Unmappable("the journey has no activities")
        if len(activities) > MAX_ACTIVITIES:
            raise Unmappable(f"{len(activities)} activities: a Tern journey has at most {MAX_ACTIVITIES} steps")
        start_key = body.get("StartActivity")
        if start_key is None or start_key not in activities:
            raise BadValue(f"{where}.StartActivity", f"{'missing' if start_key is None else repr(start_key) + ' is not an activity'}")
        for key, kind in kinds.items():
            for field, target in _targets(kind, activities[key][kind]):
                if target is not None and target not in activities:
                    raise BadValue(f"{where}.Activities.{key}.{kind}.{field}", f"there is no activity {target!r}")
        _no_cycles(activities, kinds, start_key, where)

        ids = step_ids(list(activities))
        left_out = {k for k, kind in kinds.items() if kind in LEFT_OUT}
        for key in left_out:
            f.missing(f"Activities.{key} ({kinds[key]})", LEFT_OUT[kinds[key]])

        def to(target: str | None) -> str | None:
            seen = set()
            while target is not None and target in left_out and target not in seen:
                seen.add(target)
                target = activities[target][kinds[target]].get("NextActivity")
            return None if target is None or target in left_out else ids[target]

        steps: list[dict[str, Any]] = []
        for key, kind in kinds.items():
            if key not in left_out:
                steps.extend(self.activity(key, kind, activities[key][kind], ids, to, where))
        start = to(start_key)
        if start is None or not steps:
            raise Unmappable("no activity Tern can run is left")
        definition: dict[str, Any] = {"name": display_name(body.get("Name"), "Pinpoint journey"), "start": start, "steps": steps}
        self.start_condition(body.get("StartCondition"), definition, where)
        self.journey_settings(body, definition, where)
        return definition

    def activity(self, key: str, kind: str, a: dict[str, Any], ids: dict[str, str], to: Any, where: str) -> list[dict[str, Any]]:
        f, here, sid = self.findings, f"Activities.{key} ({kind})", ids[key]
        if kind in ("EMAIL", "SMS"):
            channel = "email" if kind == "EMAIL" else "sms"
            if not a.get("TemplateName"):
                raise BadValue(f"{where}.Activities.{key}.{kind}.TemplateName", "a send needs its template")
            notes = []
            config = a.get("MessageConfig") or {}
            if config.get("FromAddress"):
                notes.append(from_note(config["FromAddress"]))
            if any(config.get(k) for k in ("OriginationNumber", "SenderId", "EntityId", "TemplateId", "MessageType")):
                notes.append(
                    "sent from your organisation's SMS number (Sending), else the stack's: not the origination number, sender id or message type Pinpoint had"
                )
            if a.get("TemplateVersion"):
                notes.append(f"Tern content has no versions: the template as imported, not version {a['TemplateVersion']}")
            content = self.contents.template(channel, a["TemplateName"], here, f)
            if notes:
                f.differs(here, "; ".join(notes))
            else:
                f.mapped(here)
            return [
                {
                    "id": sid,
                    "kind": "send_email" if kind == "EMAIL" else "send_sms",
                    "content_id": content,
                    "next": to(a.get("NextActivity")),
                }
            ]
        if kind == "Wait":
            wait = a.get("WaitTime") or {}
            f.mapped(here)
            return [self.wait(sid, wait, to(a.get("NextActivity")), f"{where}.Activities.{key}.Wait.WaitTime")]
        if kind == "RandomSplit":
            branches = [b for b in a.get("Branches") or []]
            total = sum(int(b.get("Percentage") or 0) for b in branches)
            if total != 100:
                raise BadValue(f"{where}.Activities.{key}.RandomSplit.Branches", f"the percentages add up to {total}, not 100")
            kept = [b for b in branches if b.get("Percentage")]
            if len(kept) < len(branches):
                f.differs(here, "branches of 0% are left out")
            else:
                f.mapped(here)
            if len(kept) == 1:
                raise Unmappable(f"{here}: one branch takes everyone: replace the split by a link to its activity")
            return [
                {
                    "id": sid,
                    "kind": "random_split",
                    "branches": [{"percent": int(b["Percentage"]), "next": to(b.get("NextActivity"))} for b in kept],
                }
            ]
        if kind == "Holdout":
            percent = int(a.get("Percentage") or 0)
            if not 0 <= percent <= 100:
                raise BadValue(f"{where}.Activities.{key}.Holdout.Percentage", f"{percent} is not a percentage")
            if percent in (0, 100):
                raise Unmappable(
                    f"{here}: a holdout of {percent}% {'holds no one' if percent == 0 else 'holds everyone'}: remove it from the journey"
                )
            f.mapped(here)
            return [{"id": sid, "kind": "holdout", "percent": percent, "next": to(a.get("NextActivity"))}]
        if kind == "ConditionalSplit":
            condition = self.condition(a.get("Condition") or {}, f"{here}.Condition", ids)
            steps, after = self.evaluation_wait(
                sid, a.get("EvaluationWaitTime"), f"{where}.Activities.{key}.ConditionalSplit.EvaluationWaitTime"
            )
            split = {
                "id": steps[0]["next"] if steps else sid,
                "kind": "split",
                "condition": condition,
                "yes": to(a.get("TrueActivity")),
                "no": to(a.get("FalseActivity")),
            }
            if after:
                split["after"] = after
            self._mapped(here)
            return [*steps, split]
        # MultiCondition
        branches = []
        for i, branch in enumerate(a.get("Branches") or []):
            branches.append(
                {
                    "condition": self.simple(branch.get("Condition") or {}, f"{here}.Branches[{i}].Condition", ids),
                    "next": to(branch.get("NextActivity")),
                }
            )
        if not branches:
            raise BadValue(f"{where}.Activities.{key}.MultiCondition.Branches", "no branch")
        steps, after = self.evaluation_wait(sid, a.get("EvaluationWaitTime"), f"{where}.Activities.{key}.MultiCondition.EvaluationWaitTime")
        multi = {
            "id": steps[0]["next"] if steps else sid,
            "kind": "multi_split",
            "branches": branches,
            "else": to(a.get("DefaultActivity")),
        }
        if after:
            multi["after"] = after
        self._mapped(here)
        return [*steps, multi]

    def _mapped(self, here: str) -> None:
        if not any(x.element.startswith(here) for x in self.findings.items):
            self.findings.mapped(here)

    def wait(self, sid: str, wait: dict[str, Any], next_: str | None, where: str) -> dict[str, Any]:
        if wait.get("WaitFor"):
            return {"id": sid, "kind": "wait_for", "duration": duration(wait["WaitFor"], f"{where}.WaitFor"), "next": next_}
        if wait.get("WaitUntil"):
            return {"id": sid, "kind": "wait_until", "at": moment(wait["WaitUntil"], f"{where}.WaitUntil"), "next": next_}
        raise BadValue(f"{where}", "WaitFor or WaitUntil")

    def evaluation_wait(self, sid: str, wait: dict[str, Any] | None, where: str) -> tuple[list[dict[str, Any]], str | None]:
        """A decision's EvaluationWaitTime: `after` for a duration; a wait_until step before it for a time."""
        if not wait:
            return [], None
        if wait.get("WaitUntil"):
            return [
                {"id": sid, "kind": "wait_until", "at": moment(wait["WaitUntil"], f"{where}.WaitUntil"), "next": f"{sid[:34]}-check"}
            ], None
        if wait.get("WaitFor"):
            return [], duration(wait["WaitFor"], f"{where}.WaitFor")
        return [], None

    def condition(self, condition: dict[str, Any], here: str, ids: dict[str, str]) -> dict[str, Any]:
        parts = [self.simple(c, f"{here}.Conditions[{i}]", ids) for i, c in enumerate(condition.get("Conditions") or [])]
        if not parts:
            raise Unmappable(f"{here}: no condition")
        return combine(condition.get("Operator") or "ALL", parts)

    def simple(self, simple: dict[str, Any], here: str, ids: dict[str, str]) -> dict[str, Any]:
        parts = []
        if simple.get("SegmentCondition"):
            target = self.resolve_segment(simple["SegmentCondition"]["SegmentId"])
            if target is None:
                raise Unmappable(
                    f"{here}.SegmentCondition: segment {simple['SegmentCondition']['SegmentId']} is neither in this import nor imported before"
                )
            parts.append({"kind": "in_segment", "segment_id": target})
        if simple.get("SegmentDimensions"):
            parts.append(self.segments.dimensions(simple["SegmentDimensions"], f"{here}.SegmentDimensions", in_condition=True))
        if simple.get("EventCondition"):
            parts.append(self.event_condition(simple["EventCondition"], f"{here}.EventCondition", ids))
        if not parts:
            raise Unmappable(f"{here}: an empty condition")
        return parts[0] if len(parts) == 1 else {"all": parts}

    def event_condition(self, event: dict[str, Any], here: str, ids: dict[str, str]) -> dict[str, Any]:
        message = event.get("MessageActivity")
        if not message or message not in ids:
            raise Unmappable(
                f"{here}.MessageActivity: Tern's engagement condition asks about a message the journey sent; name its EMAIL or SMS activity"
            )
        dimensions = event.get("Dimensions") or {}
        types = (dimensions.get("EventType") or {}).get("Values") or []
        if not types:
            raise Unmappable(f"{here}.Dimensions.EventType: no event type")
        parts = []
        for name in types:
            if name not in ENGAGEMENT:
                raise Unmappable(f"{here}: {name} is not an engagement Tern records (it branches on delivered, opened, clicked, bounced)")
            if name in ENGAGEMENT_NOTES:
                self.findings.differs(here, ENGAGEMENT_NOTES[name])
            parts.append({"kind": "engagement", "message_step": ids[message], "event": ENGAGEMENT[name]})
        if dimensions.get("Attributes") or dimensions.get("Metrics"):
            raise Unmappable(f"{here}.Dimensions: Tern's engagement condition does not filter on the event's attributes or metrics")
        found = combine("ANY", parts)
        if (dimensions.get("EventType") or {}).get("DimensionType") == "EXCLUSIVE":
            found = {"not": found}
        return found

    def start_condition(self, start: dict[str, Any] | None, definition: dict[str, Any], where: str) -> None:
        f = self.findings
        if not start or not (start.get("SegmentStartCondition") or start.get("EventStartCondition")):
            raise Unmappable("no StartCondition: Tern needs the segment (or the event) that enters contacts")
        if start.get("SegmentStartCondition"):
            segment_id = start["SegmentStartCondition"]["SegmentId"]
            target = self.resolve_segment(segment_id)
            if target is None:
                raise Unmappable(f"StartCondition: segment {segment_id} is neither in this import nor imported before")
            definition["audience"] = target
            f.mapped("StartCondition.SegmentStartCondition")
            return
        event = start["EventStartCondition"]
        definition["entry"] = self.event_entry(
            event.get("EventFilter") or {},
            "StartCondition.EventStartCondition.EventFilter",
            f"{where}.StartCondition.EventStartCondition.EventFilter",
        )
        if event.get("SegmentId"):
            target = self.resolve_segment(event["SegmentId"])
            if target is None:
                raise Unmappable(
                    f"StartCondition.EventStartCondition: segment {event['SegmentId']} is neither in this import nor imported before"
                )
            definition["entry"]["audience"] = target

    def event_entry(self, event_filter: dict[str, Any], here: str, where: str) -> dict[str, Any]:
        dimensions = event_filter.get("Dimensions") or {}
        types = (dimensions.get("EventType") or {}).get("Values") or []
        if len(types) != 1 or (dimensions.get("EventType") or {}).get("DimensionType") == "EXCLUSIVE":
            raise Unmappable(f"{here}: Tern enters a journey on one event type; import it as one journey per event type")
        name = str(types[0])
        if name.startswith("_"):
            raise Unmappable(
                f"{here}: {name} is a Pinpoint system event; send the event to Tern as a contact event (POST /events) and enter on that"
            )
        tern_type = re.sub(r"[^a-z0-9_.:-]", "_", name.lower())
        try:
            EVENT_TYPE.validate_python(tern_type)
        except ValidationError:
            raise Unmappable(
                f"{here}: event type {name!r} cannot be a Tern event type (a letter first; letters, digits, _ . : -)"
            ) from None
        filters: dict[str, Any] = {}
        for key, attribute in (dimensions.get("Attributes") or {}).items():
            if (attribute.get("AttributeType") or "INCLUSIVE") != "INCLUSIVE":
                raise Unmappable(
                    f"{here}.Dimensions.Attributes.{key}: Tern's event filters match values (INCLUSIVE), not {attribute.get('AttributeType')}"
                )
            filters[f"properties.{key}"] = [str(v) for v in attribute.get("Values") or []]
        if dimensions.get("Metrics"):
            raise Unmappable(f"{here}.Dimensions.Metrics: Tern's event filters match values; put the comparison in the audience segment")
        if tern_type != name:
            self.findings.differs(here, f"the event type is {tern_type} in Tern (lower case): send contact events of that type")
        elif event_filter.get("FilterType") == "SYSTEM":
            self.findings.differs(here, "Tern's contact events (POST /events, EventBridge) enter the journey")
        else:
            self.findings.mapped(here)
        return {"kind": "event", "event_type": tern_type, "filters": filters}

    def journey_settings(self, body: dict[str, Any], definition: dict[str, Any], where: str) -> None:
        f = self.findings
        schedule = body.get("Schedule") or {}
        if schedule.get("Timezone"):
            definition["timezone"] = zone(schedule["Timezone"], f"{where}.Schedule.Timezone", f)
        if schedule.get("StartTime"):
            definition["start_at"] = moment(schedule["StartTime"], f"{where}.Schedule.StartTime")
        if schedule.get("EndTime"):
            definition["ends_at"] = moment(schedule["EndTime"], f"{where}.Schedule.EndTime")
        if schedule:
            f.mapped("Schedule")
        if body.get("LocalTime"):
            f.differs(
                "LocalTime",
                "Tern keeps the schedule in the journey's time zone; send windows and closed dates are in each contact's own (its timezone column)",
            )
        if body.get("TimezoneEstimationMethods"):
            f.differs(
                "TimezoneEstimationMethods",
                "Tern reads each contact's time zone from its timezone column, not from its phone number or postal code",
            )
        joiners = bool(body.get("RefreshFrequency") or body.get("RefreshOnSegmentUpdate"))
        if joiners and definition.get("audience"):
            definition["mode"] = "one_time_with_joiners"
            f.differs("RefreshFrequency", "new members enter as the audience refreshes: give the audience segment the refresh you want" + (
                f" (Pinpoint: {body['RefreshFrequency']})" if body.get("RefreshFrequency") else ""))  # fmt: skip
        self.limits(body.get("Limits") or {}, definition, where, joiners or bool(definition.get("entry")))
        wait = bool(body.get("WaitForQuietTime"))
        if body.get("SendingSchedule") and body.get("OpenHours"):
            window = open_hours(body["OpenHours"], wait, "OpenHours", f)
            if window:
                definition["send_window"] = window
            if body.get("QuietTime"):
                f.differs("QuietTime", "the open hours decide; Tern keeps one window")
        elif body.get("QuietTime"):
            window = quiet_time(body["QuietTime"], wait, "QuietTime", f)
            if window:
                definition["send_window"] = window
        if body.get("SendingSchedule") and body.get("ClosedDays"):
            definition["closed_dates"] = closed_days(body["ClosedDays"], "ClosedDays", f)
        state = body.get("State")
        if state and state not in STATES:
            raise BadValue(f"{where}.State", f"unknown {state!r}")
        if state and state != "DRAFT":
            f.differs("State", f"imported as a draft (it was {state} in Pinpoint): publish and start it in Tern")
        if body.get("JourneyChannelSettings"):
            f.missing("JourneyChannelSettings", "Amazon Connect settings have no Tern equivalent")

    def limits(self, limits: dict[str, Any], definition: dict[str, Any], where: str, may_reenter: bool) -> None:
        f = self.findings
        found: dict[str, Any] = {}
        for pinpoint, tern in (
            ("DailyCap", "messages_per_contact_per_day"),
            ("TotalCap", "messages_per_contact"),
            ("MessagesPerSecond", "messages_per_second"),
        ):
            if limits.get(pinpoint):
                found[tern] = int(limits[pinpoint])
                f.mapped(f"Limits.{pinpoint}")
        frame = limits.get("TimeframeCap") or {}
        if frame.get("Cap") and frame.get("Days"):
            found["messages_per_contact_in"] = {"messages": int(frame["Cap"]), "days": int(frame["Days"])}
            f.mapped("Limits.TimeframeCap")
        if found:
            definition["limits"] = found
        cap = limits.get("EndpointReentryCap")
        if cap is not None and cap != 1:
            if not may_reenter:
                f.differs("Limits.EndpointReentryCap", "the audience is not refreshed into the journey, so each contact enters once")
            else:
                definition["reentry"] = {"max_entries": None if cap == 0 else int(cap)}
                if limits.get("EndpointReentryInterval"):
                    definition["reentry"]["min_interval"] = duration(
                        limits["EndpointReentryInterval"], f"{where}.Limits.EndpointReentryInterval"
                    )
                f.mapped("Limits.EndpointReentryCap")
        elif limits.get("EndpointReentryInterval"):
            f.differs("Limits.EndpointReentryInterval", "each contact enters once: the interval has nothing to space")


def display_name(value: Any, fallback: str) -> str:
    """A Pinpoint name as a Tern name: its words, at most 200 characters, or the fallback."""
    text = " ".join(str(value or "").split())[:200]
    return text or fallback


def _targets(kind: str, a: dict[str, Any]) -> list[tuple[str, str | None]]:
    if kind == "ConditionalSplit":
        return [("TrueActivity", a.get("TrueActivity")), ("FalseActivity", a.get("FalseActivity"))]
    if kind == "MultiCondition":
        return [
            *((f"Branches[{i}].NextActivity", b.get("NextActivity")) for i, b in enumerate(a.get("Branches") or [])),
            ("DefaultActivity", a.get("DefaultActivity")),
        ]
    if kind == "RandomSplit":
        return [(f"Branches[{i}].NextActivity", b.get("NextActivity")) for i, b in enumerate(a.get("Branches") or [])]
    return [("NextActivity", a.get("NextActivity"))]


def _no_cycles(activities: dict[str, Any], kinds: dict[str, str], start: str, where: str) -> None:
    """Refuse a journey whose activities lead back to one another (Pinpoint's journeys are acyclic)."""
    state: dict[str, int] = {}

    def visit(key: str, path: list[str]) -> None:
        state[key] = 1
        for _, target in _targets(kinds[key], activities[key][kinds[key]]):
            if target is None:
                continue
            if state.get(target) == 1:
                loop = path[path.index(target) :] + [target] if target in path else [key, target]
                raise BadValue(f"{where}.Activities.{key}", f"the activities make a loop ({' -> '.join(loop)})")
            if target not in state:
                visit(target, [*path, target])
        state[key] = 2

    for key in activities:
        if key not in state:
            visit(key, [key])
