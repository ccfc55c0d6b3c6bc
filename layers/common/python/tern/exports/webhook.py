"""Handing members to another system: signed JSON batches POSTed to a webhook destination.

Each request is signed as Stripe signs its webhooks: `X-Tern-Signature: t=<unix seconds>,v1=<hex>` where hex is
HMAC-SHA256 under the destination's secret of `<t>.<raw body>`. While a rotated secret's overlap lasts, a second
`v1=` carries the signature under the previous secret, so a receiver holding either verifies. A receiver
recomputes it over the raw body, compares in constant time, and refuses a `t` more than 5 minutes from its clock
(a captured request replayed later): `verify` below does exactly that. Each attempt is signed afresh, so a retry
after a backoff still carries a current `t`. `Idempotency-Key` names the batch
(<export id>:<batch number>), the same on every retry. 5xx, 408, 429, timeouts and refused connections
are retried with exponential backoff and jitter; any other answer (a redirect too), a host that resolves to
an internal address (tern.exports.addresses), or a batch still failing after the last attempt, ends the
delivery with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from tern import __version__
from tern.errors import DeliveryFailed, NotFoundError
from tern.exports.addresses import RefusedAddress, opener
from tern.exports.model import Destination
from tern.exports.repository import DestinationRepository
from tern.ports import SigningSecrets

RETRIED_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))


TOLERANCE_SECONDS = 300  # how far a receiver should let `t` be from its own clock


def _mac(secret: str, at: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()


def signature(secrets: list[str], body: bytes, at: int) -> str:
    """The X-Tern-Signature value: `t=<at>` and a `v1=` under each secret (the current first)."""
    return ",".join([f"t={at}", *(f"v1={_mac(secret, at, body)}" for secret in secrets)])


def verify(secret: str, header: str, body: bytes, now: float, tolerance: float = TOLERANCE_SECONDS) -> bool:
    """A receiver's check: the header carries a `v1` of `secret` over `<t>.<body>`, and `t` is within `tolerance` of now."""
    parts = [part.partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in parts if key.strip() == "t"]
    if len(stamps) != 1 or not re.fullmatch(r"[0-9]{1,12}", stamps[0].strip()) or abs(now - int(stamps[0])) > tolerance:
        return False
    expected = _mac(secret, int(stamps[0]), body)
    return any(hmac.compare_digest(expected, value.strip()) for key, _, value in parts if key.strip() == "v1")


@dataclass
class Webhook:
    url: str
    secrets: list[str] | Callable[[], list[str]]  # the current first, the previous while a rotation overlaps; or, read at each attempt
    timeout_seconds: float = 10
    max_attempts: int = 5
    first_delay: float = 0.5
    max_delay: float = 30
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = field(default=random.random)
    allow_loopback: bool = False  # the local stack and tests only (tern.exports.addresses)
    clock: Callable[[], float] = time.time

    def post(self, body: bytes, batch_key: str) -> int:
        """Deliver one batch; returns the attempts it took, or raises DeliveryFailed with the reason."""
        delay = self.first_delay
        connections = opener(self.allow_loopback)
        for attempt in range(1, self.max_attempts + 1):
            headers = {
                "Content-Type": "application/json", "User-Agent": f"tern/{__version__}", "Idempotency-Key": batch_key,
                "X-Tern-Signature": signature(self.secrets() if callable(self.secrets) else self.secrets, body, int(self.clock())),
            }  # fmt: skip
            try:
                with connections.open(
                    urllib.request.Request(self.url, data=body, headers=headers, method="POST"), timeout=self.timeout_seconds
                ):
                    return attempt
            except RefusedAddress as e:  # the name resolves somewhere internal now: never retried
                raise DeliveryFailed(f"batch {batch_key}: {e}", attempt) from None
            except urllib.error.HTTPError as e:
                reason = f"the destination answered {e.code} {e.reason}"
                if e.code not in RETRIED_STATUSES:
                    raise DeliveryFailed(f"batch {batch_key}: {reason}", attempt) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                cause = getattr(e, "reason", e)
                reason = (
                    "the destination did not answer in time"
                    if isinstance(cause, TimeoutError)
                    else f"cannot reach the destination: {cause}"
                )
            if attempt < self.max_attempts:
                self.sleep(delay * (0.5 + self.jitter()))
                delay = min(delay * 2, self.max_delay)
        raise DeliveryFailed(f"batch {batch_key}: {reason} ({self.max_attempts} attempts)", self.max_attempts)


@dataclass
class WebhookDeliveries:
    """tern.ports.Deliveries over the org's destinations: what a journey's webhook step posts through."""

    destinations: DestinationRepository
    secrets: SigningSecrets
    allow_loopback: bool = False
    max_attempts: int = 3  # within journey_step's 30 s (the Task's own retries come on top for the transient)
    timeout_seconds: float = 5

    def exists(self, org_id: str, destination_id: str) -> bool:
        try:
            self.destinations.get(org_id, destination_id)
        except NotFoundError:
            return False
        return True

    def deliver(self, org_id: str, destination_id: str, body: bytes, key: str) -> int:
        try:
            destination = self.destinations.get(org_id, destination_id)
        except NotFoundError:
            raise DeliveryFailed(f"destination {destination_id} no longer exists", 0) from None
        hook = Webhook(destination.url, signing_secrets(destination, self.secrets, time.time()), timeout_seconds=self.timeout_seconds,
                       max_attempts=self.max_attempts, allow_loopback=self.allow_loopback)  # fmt: skip
        return hook.post(body, key)


def secret_name(prefix: str, org_id: str, destination_id: str) -> str:
    """A destination's secret in Secrets Manager: `<prefix>-<org digest>-<id>` (IAM grants the stage's `<prefix>-*`)."""
    return f"{prefix}-{hashlib.sha256(org_id.encode()).hexdigest()[:8]}-{destination_id}"


def signing_secrets(destination: Destination, secrets: SigningSecrets, now: float) -> list[str]:
    """What a delivery signs with now: the current secret, and the previous while the rotation's overlap lasts."""
    until = destination.previous_secret_until
    current = secrets.current(destination.secret_name)
    if until is None or now >= until.replace(tzinfo=until.tzinfo or dt.UTC).timestamp():
        return [current]
    previous = secrets.previous(destination.secret_name)
    return [current, previous] if previous else [current]
