"""send_email: an e-mail of the org's content to the contact's address, with its unsubscribe link and footer."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from tern.journeys.kinds.sending import Send


class SendEmail(Send):
    kind: Literal["send_email"]
    address_field: Literal["email"] = "email"

    channel: ClassVar[str | None] = "email"

    def address(self, contact: dict[str, Any]) -> str:
        return str(contact.get(self.address_field) or "").strip()
