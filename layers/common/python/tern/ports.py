"""What Tern needs from the world outside it, as small interfaces. The domain depends on these; tern.aws
implements them over AWS, the local stack over a folder and moto, and tests over memory (tests/fakes.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class LakeFiles(Protocol):
    """Files in the lake bucket (S3), or a folder on a laptop."""

    def put(self, key: str, body: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...


@dataclass(frozen=True)
class Synced:
    """What bringing a copy of an org's lake in step with S3 did: the org's files and bytes as listed, what was read
    from S3 to get there, and how long it all took."""

    files: int
    bytes: int
    fetched_files: int
    fetched_bytes: int
    removed_files: int
    seconds: float


class LakeCopy(Protocol):
    root: Path  # the copy's folder, laid out as the lake's keys are (contacts/org_id=ORG/...)


class LakeCopies(Protocol):
    """Orgs' parts of the lake bucket, copied to a local folder (tern.aws.lake_copy), for the quick path."""

    def synced(self, org_id: str, memberships: dict[str, str]) -> AbstractContextManager[tuple[LakeCopy, Synced]]:
        """The org's copy brought in step with S3 (its datasets, and these segments' evaluations), held until the block
        ends; NotQuick if it is larger than the copies' room."""
        ...


class ResultFiles(Protocol):
    """The results bucket: files Tern hands to people (exports, through signed URLs), Athena's results and
    what a run works from."""

    bucket: str

    def upload(self, path: str, key: str, content_type: str, filename: str) -> None:
        """Upload a local file, streamed from disk."""
        ...

    def exists(self, key: str) -> bool: ...

    def url(self, key: str, expires_in: int) -> str: ...

    def delete(self, key: str) -> None: ...

    def size(self, key: str) -> int: ...

    def read(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of a file (fewer at its end)."""
        ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...


class Events(Protocol):
    """Where the event rows Tern produces go (journey steps, engagement): Firehose in the cloud, the lake locally."""

    def write(self, org_id: str, rows: list[dict[str, Any]]) -> None: ...


class Scheduler(Protocol):
    """Schedules that invoke one function with a payload (EventBridge Scheduler)."""

    def put(
        self,
        name: str,
        expression: str,
        payload: dict[str, Any],
        description: str,
        *,
        once: bool,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> None:
        """Create the schedule, or replace the one of that name. `once` schedules delete themselves after running;
        a recurring one fires from `start` and never after `end`."""
        ...

    def delete(self, name: str) -> None:
        """Delete the schedule; one already gone is fine."""
        ...


class Trigger(Protocol):
    """One function, invoked asynchronously (Lambda retries a crashed run)."""

    def invoke(self, payload: dict[str, Any], what: str) -> None:
        """Start it with `payload`; `what` names the work in an error."""
        ...


def execution_arn(machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives execution `name` of a state machine."""
    head, _, machine = machine_arn.rpartition(":stateMachine:")
    return f"{head}:execution:{machine}:{name}"


class StateMachines(Protocol):
    """State machines and their executions (Step Functions): journeys', runs and refreshes."""

    def create(self, name: str, definition: dict[str, Any], org_id: str, description: str) -> str:
        """Create a state machine (published as version 1); returns its ARN."""
        ...

    def start(self, arn: str, name: str, payload: dict[str, Any]) -> bool:
        """Start an execution; False if one of that name exists. Raises RetryLater when throttled."""
        ...

    def running(self, arn: str) -> Iterator[tuple[str, str]]:
        """The (name, ARN) of each running execution."""
        ...

    def stop(self, execution_arn: str, error: str, cause: str) -> None: ...

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        """The execution's status, input and (once ended) output or error and cause; None if there is none."""
        ...


class TaskTokens(Protocol):
    """Completes a waiting branch: Step Functions' SendTaskSuccess."""

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        """Resume the waiting execution; False if it no longer waits (timed out or stopped meanwhile)."""
        ...


@dataclass(frozen=True)
class SendAs:
    """Who a message is from, and the org's SES tenant and configuration set it goes through."""

    from_address: str
    configuration_set: str | None
    tenant: str | None


class Email(Protocol):
    def send(
        self,
        to: str,
        subject: str,
        html: str | None,
        text: str | None,
        tags: dict[str, str],
        headers: dict[str, str],
        sender: SendAs | None = None,
    ) -> str:
        """Send one message with these extra headers (List-Unsubscribe), as `sender` (None: the stack's own sender);
        returns the provider's message id. Raises RetryLater when throttled, SendRejected when refused for good."""
        ...


@dataclass(frozen=True)
class OrgSending:
    """An org's SES tenant and its configuration set (engagement events to EventBridge)."""

    tenant: str
    configuration_set: str


@dataclass(frozen=True)
class IdentityState:
    """A domain identity as SES reports it."""

    verified: bool  # VerifiedForSendingStatus
    dkim_status: str  # PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED
    dkim_tokens: tuple[str, ...]
    mail_from_status: str | None  # PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE


class SendingIdentities(Protocol):
    """SES v2 identities and tenants (tern.aws.ses.SesIdentities)."""

    def prepare_org(self, name: str) -> OrgSending:
        """The org's tenant and configuration set (named `name`), made if missing; idempotent."""
        ...

    def add_domain(self, sending: OrgSending, domain: str, mail_from_domain: str) -> IdentityState:
        """The domain's identity with Easy DKIM, its MAIL FROM domain, associated with the org's tenant."""
        ...

    def state(self, domain: str) -> IdentityState: ...

    def remove_domain(self, sending: OrgSending, domain: str) -> None: ...


class Sms(Protocol):
    def send(self, phone: str, text: str, origination: str | None = None, context: dict[str, str] | None = None) -> str:
        """Send one text from `origination` (the org's number or pool; None: the stack's); returns the provider's message
        id. Raises RetryLater when throttled, OptedOut when the number is on the identity's opt-out list (a STOP)."""
        ...


class SmsOrigins(Protocol):
    """The orgs' SMS origination identities and their opt-out lists (tern.aws.sms.SmsOrigins)."""

    def assign(self, identity: str, opt_out_list: str) -> str:
        """Give the identity its org's opt-out list (made if missing); the identity's phone number."""
        ...

    def end_user_opt_outs(self, opt_out_list: str) -> Iterator[tuple[str, dt.datetime]]:
        """The numbers on the list that replied STOP (not those an API call added), with when they did."""
        ...


class SigningSecrets(Protocol):
    """Webhook destinations' signing secrets, each named, with its previous value kept while a rotation overlaps
    (tern.aws.secrets.SecretsManagerSecrets)."""

    def create(self, name: str, value: str) -> None: ...

    def rotate(self, name: str, value: str) -> None:
        """The new value becomes current; the current one is kept as the previous."""
        ...

    def current(self, name: str) -> str: ...

    def previous(self, name: str) -> str | None:
        """The value before the last rotation, if there was one."""
        ...

    def delete(self, name: str) -> None: ...


class Deliveries(Protocol):
    """Signed POSTs to an org's webhook destinations (tern.exports.webhook): a journey's webhook steps."""

    def exists(self, org_id: str, destination_id: str) -> bool: ...

    def deliver(self, org_id: str, destination_id: str, body: bytes, key: str) -> int:
        """Deliver the body (Idempotency-Key `key`); the attempts it took, or DeliveryFailed with the reason."""
        ...
