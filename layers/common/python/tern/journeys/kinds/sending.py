"""What the two message kinds (send_email, send_sms) share: one Task that sends, the send window's detour,
the content checks, and how a message's outcomes let the contact go on."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from tern.errors import DefinitionError, NotFoundError, Problem
from tern.journeys.kinds.base import END, Machine, Publishing, TaskStep, Text, then

if TYPE_CHECKING:
    from tern.journeys.model import Journey
    from tern.journeys.steps import JourneySteps
    from tern.journeys.tasks import StepRequest


class Send(TaskStep):
    """A message to the contact, on the kind's `channel` (JourneySteps.send: consent, suppression, window, caps)."""

    content_id: Text

    def states(self, machine: Machine) -> dict[str, Any]:
        """One Task; in a journey with a send window, the Task answers `{"way": "next" | "wait", "until"}` and a Choice
        takes it: on (two transitions), or through `<id>:window`, a Wait until the opening, to `<id>:open`, the Task
        that sends then (four)."""
        if not machine.windowed:
            return super().states(machine)
        return {
            self.id: {**machine.task(self), "ResultSelector": {"edge.$": "$.Payload.way", "until.$": "$.Payload.until"},
                      "ResultPath": "$.decided", "Next": f"{self.id}:route"},
            f"{self.id}:route": {"Type": "Choice", "Choices": [{"Variable": "$.decided.edge", "StringEquals": "wait", "Next": f"{self.id}:window"}],
                                 "Default": self.next or END},
            f"{self.id}:window": {"Type": "Wait", "TimestampPath": "$.decided.until", "Next": f"{self.id}:open"},
            f"{self.id}:open": then(machine.task(self, phase="opened"), self.next),
        }  # fmt: skip

    def act(self, runner: JourneySteps, journey: Journey, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        return runner.send(journey, self, request, now)

    def address(self, contact: dict[str, Any]) -> str:
        """Where the message goes for this contact ('' when it has none)."""
        raise NotImplementedError

    def position(self, outcome: str, way: str) -> str | None:
        if outcome == "deferred":  # waiting for the send window to open
            return self.id
        return super().position(outcome, way)

    def problems(self, publishing: Publishing) -> list[Problem]:
        """The content exists, is ready and is for this channel; a marketing e-mail has a postal address to show and
        a From address at one of the org's verified domains (or the stack's own)."""
        path = f"steps[{publishing.index[self.id]}].content_id"
        try:
            found = publishing.content(self.content_id)
        except NotFoundError:
            return [Problem(path, f"there is no content {self.content_id!r}")]
        if found.channel != self.channel:
            return [Problem(path, f"content {self.content_id!r} is {found.channel}, not {self.channel}")]
        if found.status != "ready":
            return [Problem(path, f"content {self.content_id!r} is not ready to send")]
        if self.channel != "email":
            return []
        if found.purpose == "marketing" and not publishing.postal_address:
            return [Problem(path, "your organisation's postal address is not set: every marketing e-mail shows it (settings: messages)")]
        if found.from_address is None:
            return [] if publishing.default_sender else [
                Problem(path, f"content {self.content_id!r} has no From address: pick one of your sending domains")
            ]  # fmt: skip
        if publishing.sender is None:
            return [Problem(path, f"content {self.content_id!r}: its From address cannot be checked here")]
        try:
            publishing.sender(found.from_address)
        except DefinitionError as e:
            return [Problem(path, f"content {self.content_id!r}: {p.message}") for p in e.problems]
        return []
