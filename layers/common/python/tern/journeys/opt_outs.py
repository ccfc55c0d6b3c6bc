"""SMS opt-outs: a recipient's STOP to an org's number, recorded where Tern looks.

AWS End User Messaging puts a STOP on the opt-out list of the number it was sent to (each org's number has the
org's own list: tern.journeys.senders) and from then on refuses every text from that number to it. Tern learns
of a STOP two ways, and records it the same way:
- a text refused as opted out (tern.journeys.steps): the contact being texted;
- a check of the org's list every 15 minutes (a schedule made with the org's number): every number that replied
  STOP since the last check, mapped to the org's contacts holding that number in one lake query per 500 numbers.
  It finds the people Tern has not texted since, so segments and the preference page see the STOP too.

The record: `sms_marketing` removed in the overlay for each contact with the number (source `sms-stop-<digest>`),
an `sms_opted_out` event each, and, last, the number suppressed for the org. The suppression is what a check
skips, so a check cut short redoes the rest with the same sources and event ids.

    checked through     ORG#<org>          SETTINGS#sms-opt-outs     through (the newest STOP recorded), checked_at
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass

from sqlglot import exp

from tern.aws.dynamodb import Table
from tern.clock import Clock, naive_utc, utc_now
from tern.engines import QueryEngine
from tern.journeys.engagement import Engagement
from tern.journeys.senders import sms_sender_of
from tern.ports import Events, SmsOrigins
from tern.segments.compiler import literal
from tern.store.overlay import ContactOverlay, chunked

STOPPED = "replied STOP"  # the suppression's reason
CONSENT = "sms_marketing"
NUMBERS_PER_QUERY = 500
# A STOP AWS records late (its timestamp before the newest already seen) is still found: each check looks back a day.
LOOK_BACK = dt.timedelta(days=1)
E164 = re.compile(r"\+?[1-9][0-9]{1,18}")
# What people type around digits; AWS's list holds the E.164 form, compared here without its "+".
_SEPARATORS = ("+", " ", "-", "(", ")", ".")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


class StopRecord:
    """A STOP written where Tern looks: consent removed, an event per contact, then the number suppressed."""

    def __init__(self, engagement: Engagement, overlay: ContactOverlay, events: Events):
        self.engagement, self.overlay, self.events = engagement, overlay, events

    def done(self, org_id: str, phone: str) -> bool:
        return self.engagement.suppressed(org_id, "sms", phone) == STOPPED

    def record(self, org_id: str, phone: str, contact_ids: list[str], at: dt.datetime, reason: str, journey_id: str | None = None) -> None:
        at = naive_utc(at)
        source = "sms-stop-" + _digest(org_id, phone, at.isoformat())
        if contact_ids:
            self.overlay.write(org_id, source, "consent", CONSENT, "remove", contact_ids, at)
            self.events.write(org_id, [{
                "event_id": f"{source}-{_digest(contact_id)}", "contact_id": contact_id, "event_type": "sms_opted_out", "ts": at,
                "channel": "sms", "journey_id": journey_id, "properties": [("reason", reason[:500])],
            } for contact_id in contact_ids])  # fmt: skip
        self.engagement.suppress(org_id, "sms", phone, STOPPED, at)


@dataclass(frozen=True)
class OptOutCheck:
    """One check of an org's list: the STOPs it found new, and the contacts they withdrew."""

    org_id: str
    opt_out_list: str
    stops: int  # new since the last check
    contacts: int
    unmatched: int  # numbers no contact of the org holds (still suppressed: no text goes to them)


class SmsOptOuts:
    def __init__(self, table: Table, origins: SmsOrigins, engine: QueryEngine, record: StopRecord, clock: Clock = utc_now):
        self.table, self.origins, self.engine, self.stop, self.clock = table, origins, engine, record, clock

    def check(self, org_id: str) -> OptOutCheck | None:
        """Record every STOP on the org's list not yet recorded; None when the org has no number of its own."""
        sender = sms_sender_of(self.table, org_id)
        if sender is None:
            return None
        mark = self.table.get(f"ORG#{org_id}", "SETTINGS#sms-opt-outs")
        through = dt.datetime.fromisoformat(str(mark["through"])) if mark and mark.get("through") else None
        found = [
            (number, naive_utc(at)) for number, at in self.origins.end_user_opt_outs(sender.opt_out_list)
            if E164.fullmatch(number) and (through is None or naive_utc(at) >= through - LOOK_BACK)
        ]  # fmt: skip
        new = [(number, at) for number, at in found if not self.stop.done(org_id, number)]
        holders = self._contacts_with(org_id, [number for number, _ in new])
        for number, at in sorted(new, key=lambda n: n[1]):
            self.stop.record(org_id, number, holders.get(number, []), at, f"replied STOP to {sender.phone_number}")
        newest = max([at for _, at in found] + ([through] if through else []), default=None)
        self.table.put({"PK": f"ORG#{org_id}", "SK": "SETTINGS#sms-opt-outs", "checked_at": naive_utc(self.clock()).isoformat(),
                        **({"through": newest.isoformat()} if newest else {})})  # fmt: skip
        return OptOutCheck(org_id, sender.opt_out_list, len(new), sum(len(holders.get(n, [])) for n, _ in new),
                           sum(1 for n, _ in new if not holders.get(n)))  # fmt: skip

    def _contacts_with(self, org_id: str, numbers: list[str]) -> dict[str, list[str]]:
        """The org's contacts holding each number, however its digits are spaced in the lake."""
        holders: dict[str, set[str]] = defaultdict(set)
        bare = {number.lstrip("+"): number for number in numbers}
        for chunk in chunked(sorted(bare), NUMBERS_PER_QUERY):
            phone: exp.Expr = exp.func("TRIM", exp.column("phone"))
            for separator in _SEPARATORS:
                phone = exp.func("REPLACE", phone, literal(separator), literal(""))
            digits = phone
            select = (
                exp.select(exp.column("contact_id"), exp.alias_(digits, "digits"))
                .from_(exp.table_("contacts", db=self.engine.database))
                .where(exp.EQ(this=exp.column("org_id"), expression=literal(org_id)))
                .where(exp.In(this=digits.copy(), expressions=[literal(n) for n in chunk]))
            )
            for contact_id, found in self.engine.run(select.sql(dialect=self.engine.dialect)).rows:
                holders[bare[str(found)]].add(str(contact_id))
        return {number: sorted(ids) for number, ids in holders.items()}
