"""end: the path ends here (a Succeed state). A step with no next ends the path too, without a state of its own."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from tern.journeys.kinds.base import Machine, Wait

if TYPE_CHECKING:
    from tern.clock import Clock
    from tern.journeys.times import SignedDuration


class End(Wait):
    kind: Literal["end"]

    def ways(self) -> list[tuple[str, str]]:
        return []

    def states(self, machine: Machine) -> dict[str, Any]:
        return {self.id: {"Type": "Succeed"}}

    def at_entry(self, clock: Clock) -> dict[str, dict[str, Any]]:
        return {}

    def field_wait(self) -> tuple[str, SignedDuration | None] | None:
        return None

    def leaves_by(self, arrives: dt.datetime) -> dt.datetime:
        return arrives

    def position(self, outcome: str, way: str) -> str | None:
        return None

    def holds_arrivals(self) -> bool:
        return False  # nobody waits at the end: it is where paths stop
