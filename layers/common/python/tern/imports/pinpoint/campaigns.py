"""A Pinpoint campaign as a one-step Tern journey: its holdout, its treatments as a random split, a send per
channel it has a message for, its schedule (once, recurring, or on an event) and its limits."""

from __future__ import annotations

from typing import Any

from tern.imports.pinpoint.journeys import FREQUENCIES, LEFT_OUT, JourneyMapper, display_name, moment
from tern.imports.pinpoint.segments import Unmappable
from tern.imports.pinpoint.timing import BadValue, quiet_time, zone


class CampaignMapper:
    """Campaigns, mapped with the journey mapper's findings, segments and contents."""

    def __init__(self, journeys: JourneyMapper):
        self.journeys = journeys
        self.findings, self.contents, self.resolve_segment = journeys.findings, journeys.contents, journeys.resolve_segment

    def campaign(self, body: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        f = self.findings
        name = display_name(body.get("Name"), "Pinpoint campaign")
        steps: list[dict[str, Any]] = []
        treatments = [body, *(body.get("AdditionalTreatments") or [])]
        heads = []
        for i, treatment in enumerate(treatments):
            here = "the campaign's message" if i == 0 else f"AdditionalTreatments[{i - 1}]"
            heads.append(
                self.sends(
                    treatment, key, f"t{i}", f"{name} {treatment.get('TreatmentName') or ('' if i == 0 else i)}".strip(), here, steps
                )
            )
            if i and treatment.get("Schedule"):
                f.differs(here + ".Schedule", "treatments share the campaign's schedule in Tern")
        start = heads[0]
        if len(treatments) > 1:
            sizes = [int(t.get("SizePercent") or 0) for t in treatments[1:]]
            first = 100 - sum(sizes)
            if first < 1 or any(s < 1 for s in sizes):
                raise BadValue(
                    f"{where}.AdditionalTreatments",
                    "each treatment needs a SizePercent, together under 100 (the rest is the campaign's own message)",
                )
            steps.insert(
                0,
                {
                    "id": "treatments",
                    "kind": "random_split",
                    "branches": [{"percent": p, "next": h} for p, h in zip([first, *sizes], heads, strict=True)],
                },
            )
            start = "treatments"
            f.mapped("AdditionalTreatments")
        holdout = int(body.get("HoldoutPercent") or 0)
        if holdout:
            if not 1 <= holdout <= 99:
                raise BadValue(f"{where}.HoldoutPercent", f"{holdout} is not between 1 and 99")
            steps.insert(0, {"id": "holdout", "kind": "holdout", "percent": holdout, "next": start})
            start = "holdout"
            f.mapped("HoldoutPercent")
        definition: dict[str, Any] = {"name": name, "start": start, "steps": steps}
        if body.get("Description"):
            definition["description"] = str(body["Description"])[:2000]
        self.campaign_schedule(body, definition, where)
        limits = body.get("Limits") or {}
        found = {}
        for pinpoint, tern in (
            ("Daily", "messages_per_contact_per_day"),
            ("Total", "messages_per_contact"),
            ("MessagesPerSecond", "messages_per_second"),
        ):
            if limits.get(pinpoint):
                found[tern] = int(limits[pinpoint])
                f.mapped(f"Limits.{pinpoint}")
        if found:
            definition["limits"] = found
        if limits.get("MaximumDuration"):
            f.differs("Limits.MaximumDuration", "Tern tries a send until it goes or fails for good; there is no delivery deadline")
        if limits.get("Session"):
            f.missing("Limits.Session", "in-app session limits have no Tern equivalent")
        for name_, note in (("Hook", "campaign hooks (a Lambda that filters the segment) have no Tern equivalent: filter in the audience segment"),
                            ("CustomDeliveryConfiguration", LEFT_OUT["CUSTOM"])):  # fmt: skip
            if body.get(name_):
                f.missing(name_, note)
        if body.get("IsPaused") or (body.get("State") or {}).get("CampaignStatus") not in (None, "DRAFT"):
            f.differs("State", "imported as a draft: publish and start it in Tern")
        if body.get("SegmentVersion"):
            f.differs("SegmentVersion", "Tern reads the audience's latest evaluation")
        return definition

    def sends(self, treatment: dict[str, Any], key: str, prefix: str, name: str, here: str, steps: list[dict[str, Any]]) -> str:
        """A send for each channel the treatment has a message for (a contact gets each one it has an address
        for, as each of its Pinpoint endpoints did); the id of the first step."""
        f = self.findings
        config = treatment.get("MessageConfiguration") or {}
        templates = treatment.get("TemplateConfiguration") or {}
        channels: list[tuple[str, str]] = []
        for channel, message_key, template_key in (("email", "EmailMessage", "EmailTemplate"), ("sms", "SMSMessage", "SMSTemplate")):
            if (templates.get(template_key) or {}).get("Name"):
                channels.append((channel, self.contents.template(channel, templates[template_key]["Name"], f"{here} ({template_key})", f)))
            elif config.get(message_key):
                channels.append(
                    (
                        channel,
                        self.contents.message(
                            channel, f"{key}#{prefix}-{channel}", name, config[message_key], f"{here} ({message_key})", f
                        ),
                    )
                )
        for other in ("ADMMessage", "APNSMessage", "BaiduMessage", "GCMMessage", "DefaultMessage", "CustomMessage", "InAppMessage"):
            if config.get(other):
                f.missing(f"{here} ({other})", "Tern sends e-mail and SMS only: this channel's message is left out")
        for other in ("PushTemplate", "VoiceTemplate", "InAppTemplate"):
            if templates.get(other):
                f.missing(f"{here} ({other})", "Tern sends e-mail and SMS only: this template is left out")
        if not channels:
            raise Unmappable(f"{here}: no e-mail or SMS message to send")
        if len(channels) == 1:
            channel, content = channels[0]
            steps.append({"id": f"{prefix}-{channel}", "kind": "send_email" if channel == "email" else "send_sms", "content_id": content})
            return f"{prefix}-{channel}"
        # both: a contact without an e-mail address skips the e-mail and still gets the SMS
        steps.extend([
            {"id": f"{prefix}-has-email", "kind": "split", "condition": {"kind": "attribute", "field": "email", "op": "is_not_empty"},
             "yes": f"{prefix}-email", "no": f"{prefix}-has-phone"},
            {"id": f"{prefix}-email", "kind": "send_email", "content_id": channels[0][1], "next": f"{prefix}-has-phone"},
            {"id": f"{prefix}-has-phone", "kind": "split", "condition": {"kind": "attribute", "field": "phone", "op": "is_not_empty"}, "yes": f"{prefix}-sms"},
            {"id": f"{prefix}-sms", "kind": "send_sms", "content_id": channels[1][1]},
        ])  # fmt: skip
        return f"{prefix}-has-email"

    def campaign_schedule(self, body: dict[str, Any], definition: dict[str, Any], where: str) -> None:
        f = self.findings
        segment_id = body.get("SegmentId")
        schedule = body.get("Schedule") or {}
        frequency = schedule.get("Frequency") or "ONCE"
        if frequency == "IN_APP_EVENT":
            raise Unmappable("an in-app campaign has no Tern equivalent")
        if frequency == "EVENT":
            definition["entry"] = self.journeys.event_entry(
                schedule.get("EventFilter") or {}, "Schedule.EventFilter", f"{where}.Schedule.EventFilter"
            )
            definition["reentry"] = {"max_entries": None}  # every matching event sends, as the campaign did
            if segment_id:
                target = self.resolve_segment(segment_id)
                if target is None:
                    raise Unmappable(f"SegmentId: segment {segment_id} is neither in this import nor imported before")
                definition["entry"]["audience"] = target
        else:
            target = self.resolve_segment(segment_id) if segment_id else None
            if target is None:
                raise Unmappable(f"SegmentId: segment {segment_id} is neither in this import nor imported before")
            definition["audience"] = target
            if frequency in FREQUENCIES:
                definition["mode"], definition["every"] = "recurring", FREQUENCIES[frequency]
                definition["reentry"] = {"max_entries": None}  # each run sends to every member again, as the campaign did
                if frequency == "MONTHLY":
                    f.differs("Schedule.Frequency", "monthly is every 30 days in Tern")
                else:
                    f.mapped("Schedule.Frequency")
            elif frequency != "ONCE":
                raise BadValue(f"{where}.Schedule.Frequency", f"unknown {frequency!r}")
        if schedule.get("Timezone"):  # CloudFormation's TimeZone was renamed on reading
            definition["timezone"] = zone(schedule["Timezone"], f"{where}.Schedule.Timezone", f)
        if schedule.get("StartTime") and schedule["StartTime"] != "IMMEDIATE":
            definition["start_at"] = moment(schedule["StartTime"], f"{where}.Schedule.StartTime")
        if schedule.get("EndTime"):
            definition["ends_at"] = moment(schedule["EndTime"], f"{where}.Schedule.EndTime")
        if schedule.get("IsLocalTime"):
            f.differs("Schedule.IsLocalTime", "Tern runs the schedule in the campaign's time zone; send windows are in each contact's own")
        if schedule.get("QuietTime"):
            window = quiet_time(schedule["QuietTime"], False, "Schedule.QuietTime", f)
            if window:
                definition["send_window"] = window
