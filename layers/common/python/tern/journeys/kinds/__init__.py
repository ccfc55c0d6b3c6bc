"""The journey step kinds, one module each; `Step` is their union, as a journey's `steps` hold them.

Adding a kind: a module here with its model (a `StepKind`, or a family's base: `TaskStep`, `Send`, `Decision`, `Wait`) that
answers every part `StepKind` lists, its class in the `Step` union below, and its tests. tests/unit/test_step_kinds.py fails until
every part is answered; docs/DESIGN.md ("Step kinds") says what each part is for.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from tern.journeys.kinds.base import PARTS, StepKind, bucket
from tern.journeys.kinds.branch_on_event import BranchOnEvent
from tern.journeys.kinds.end import End
from tern.journeys.kinds.holdout import Holdout
from tern.journeys.kinds.multi_split import ConditionBranch, MultiSplit
from tern.journeys.kinds.random_split import RandomSplit, SplitBranch, branch_of
from tern.journeys.kinds.send_email import SendEmail
from tern.journeys.kinds.send_sms import SendSms
from tern.journeys.kinds.split import Split
from tern.journeys.kinds.update_contact import UpdateContact
from tern.journeys.kinds.wait_for import WaitFor
from tern.journeys.kinds.wait_until import WaitUntil
from tern.journeys.kinds.webhook import Webhook

Step = Annotated[
    Union[SendEmail, SendSms, BranchOnEvent, WaitUntil, WaitFor, UpdateContact, End, RandomSplit, Holdout, Split, MultiSplit, Webhook],
    Field(discriminator="kind"),
]

__all__ = [
    "PARTS", "BranchOnEvent", "ConditionBranch", "End", "Holdout", "MultiSplit", "RandomSplit", "SendEmail", "SendSms", "Split",
    "SplitBranch", "Step", "StepKind", "UpdateContact", "WaitFor", "WaitUntil", "Webhook", "branch_of", "bucket",
]  # fmt: skip
