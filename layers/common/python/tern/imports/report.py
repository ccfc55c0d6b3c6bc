"""What an import says of each element it read: mapped, mapped with a difference (what differs, in one line),
or not mapped (why, and what to do instead)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["mapped", "mapped with a difference", "not mapped"]


@dataclass(frozen=True)
class Finding:
    object: str  # the imported object: "segment 'VIPs' (Pinpoint 8f2c...)"
    element: str  # where in it: "Dimensions.Demographic.Platform", "Activities.welcome (EMAIL)"
    status: Status
    note: str = ""

    def json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Findings:
    """The findings about one object, as its mapping goes."""

    object: str
    items: list[Finding] = field(default_factory=list)

    def mapped(self, element: str) -> None:
        self.items.append(Finding(self.object, element, "mapped"))

    def differs(self, element: str, note: str) -> None:
        self.items.append(Finding(self.object, element, "mapped with a difference", note))

    def missing(self, element: str, note: str) -> None:
        self.items.append(Finding(self.object, element, "not mapped", note))
