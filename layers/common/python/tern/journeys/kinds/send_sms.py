"""send_sms: a text of the org's content to the contact's phone, from the org's own number if it has one."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from tern.journeys.kinds.sending import Send


class SendSms(Send):
    kind: Literal["send_sms"]
    phone_field: Literal["phone"] = "phone"

    channel: ClassVar[str | None] = "sms"

    def address(self, contact: dict[str, Any]) -> str:
        return str(contact.get(self.phone_field) or "").strip()
