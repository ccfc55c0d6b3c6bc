"""What a recipient does with a message's link (tern.journeys.unsubscribe): unsubscribe in one click, or change a
consent on the preference page. No login: the token is the recipient's authority, for its own contact only.

A withdrawal is recorded at once, where every send looks: the consent removed in the overlay (source
`unsubscribe-<token digest>`), so the contact's next send in any journey of the org is blocked and recorded; an
`email_unsubscribed` event (segments select it, as they select clicks) and a journey_step `unsubscribed` for the
message's journey and step (analytics count it per step); and the
token spent (TOKEN#<digest> with when): its replay after the contact gave the consent again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from tern.aws.dynamodb import Table
from tern.clock import Clock, naive_utc, utc_now
from tern.errors import ConflictError
from tern.journeys.caps import ConsentTopic, OrgSettings
from tern.journeys.unsubscribe import Signer, Unsubscribe, held
from tern.ports import Events
from tern.store.overlay import ContactOverlay

Outcome = Literal["unsubscribed", "already", "resubscribed_since"]
# What a consent is called where a recipient reads it, when the org's topics do not name it
NAMES = {"email_marketing": "marketing e-mails", "sms_marketing": "marketing text messages"}


def name_of(consent: str) -> str:
    return NAMES.get(consent, consent.replace("_", " "))


@dataclass(frozen=True)
class Withdrawal:
    link: Unsubscribe
    outcome: Outcome  # unsubscribed now; already (this token, or the consent already withdrawn); resubscribed_since
    at: dt.datetime  # when the token was first used (now, for a first use)
    given_again: dt.datetime | None = None  # resubscribed_since: when the consent was given again


def _spent_pk(org_id: str) -> str:
    return f"ORG#{org_id}#UNSUBSCRIBE"


class Preferences:
    def __init__(
        self, signer: Signer, table: Table, overlay: ContactOverlay, events: Events, settings: OrgSettings, clock: Clock = utc_now
    ):
        self.signer = signer
        self.table = table
        self.overlay = overlay
        self.events = events
        self.settings = settings
        self.clock = clock

    def read(self, org_id: str, token: str) -> Unsubscribe:
        """The link the token names (BadToken when it is not this org's, or altered)."""
        return self.signer.read(org_id, token)

    def consent_given(self, link: Unsubscribe, consent: str | None = None) -> bool:
        """The contact's consent now: as the message went (the token's), with Tern's changes since (the overlay)."""
        consent = consent or link.consent
        change = self.overlay.consent(link.org_id, link.contact_id, consent)
        return consent == link.consent or held(consent) in link.held if change is None else change == "add"

    def topics(self, link: Unsubscribe) -> list[tuple[ConsentTopic, bool]]:
        """The org's e-mail consent topics (the message's own first, named by its consent if the org listed none),
        each with the contact's state."""
        listed = [t for t in self.settings.messages(link.org_id).topics if t.channel == "email"]
        if link.consent not in {t.consent for t in listed}:
            listed.insert(0, ConsentTopic(consent=link.consent, names={"en": name_of(link.consent).capitalize()}))
        return [(t, self.consent_given(link, t.consent)) for t in listed]

    def unsubscribe(self, org_id: str, token: str) -> Withdrawal:
        """RFC 8058's one-click POST (and the page's button): withdraw the token's consent, once."""
        link = self.signer.read(org_id, token)
        now = naive_utc(self.clock())
        spent = self.table.get(_spent_pk(org_id), f"TOKEN#{link.digest}")
        if spent is not None:
            return self._replayed(link, dt.datetime.fromisoformat(str(spent["at"])))
        # the withdrawal first (a retry rewrites the same overlay file), then the token spent: a failure between them
        # leaves the token unspent, so the provider's retry withdraws again rather than finding it "already used"
        self.overlay.write(org_id, f"unsubscribe-{link.digest}", "consent", link.consent, "remove", [link.contact_id], now)
        self.events.write(org_id, _rows(link, link.consent, now, "by the recipient's link"))
        try:  # of two POSTs racing, one spends it and the other is a replay
            self.table.put({"PK": _spent_pk(org_id), "SK": f"TOKEN#{link.digest}", "at": now.isoformat(), "contact_id": link.contact_id,
                            "consent": link.consent, "journey_id": link.journey_id, "step_id": link.step_id}, condition="attribute_not_exists(PK)")  # fmt: skip
        except ConflictError:
            return self._replayed(link, now)
        return Withdrawal(link, "unsubscribed", now)

    def _replayed(self, link: Unsubscribe, first_used: dt.datetime) -> Withdrawal:
        change = self.table.get(f"ORG#{link.org_id}#CHANGES#{link.contact_id}", f"consents#{link.consent}")
        if change is not None and change["action"] == "add":
            given = dt.datetime.fromisoformat(str(change["at"]))
            if given > first_used:  # given again after this token withdrew it: the old message does not undo that
                return Withdrawal(link, "resubscribed_since", first_used, given)
        return Withdrawal(link, "already", first_used)

    def set_consent(self, org_id: str, token: str, consent: str, given: bool) -> Unsubscribe:
        """The preference page's switch for one consent of the token's contact (the page lists the org's topics)."""
        link = self.signer.read(org_id, token)
        now = naive_utc(self.clock())
        source = f"preferences-{link.digest}-{now.strftime('%Y%m%dT%H%M%S%f')}"
        self.overlay.write(org_id, source, "consent", consent, "add" if given else "remove", [link.contact_id], now)
        if not given:
            self.events.write(org_id, _rows(link, consent, now, "on the preference page"))
        return link


def _rows(link: Unsubscribe, consent: str, at: dt.datetime, where: str) -> list[dict[str, Any]]:
    """What the lake learns: an `email_unsubscribed` event (an e-mail action, as clicks are: segments select it) and a
    journey_step `unsubscribed` for the message's journey and step (analytics count it). Their ids are stable: a
    rewrite is the same event."""
    key = hashlib.sha256(f"{link.digest}\n{consent}\n{at.isoformat()}".encode()).hexdigest()[:32]
    properties = [("consent", consent), ("send", link.send), ("where", where)]
    return [
        {"event_id": f"unsub-{key}", "contact_id": link.contact_id, "event_type": "email_unsubscribed", "ts": at, "channel": "email",
         "journey_id": link.journey_id, "step_id": link.step_id, "properties": properties},
        {"event_id": f"unsub-step-{key}", "contact_id": link.contact_id, "event_type": "journey_step", "ts": at,
         "journey_id": link.journey_id, "step_id": link.step_id, "outcome": "unsubscribed", "reason": f"{consent} withdrawn {where}",
         "properties": properties},
    ]  # fmt: skip
