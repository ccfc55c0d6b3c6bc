"""Handing members to another system: signed JSON batches POSTed to a webhook destination.

Each body is signed with HMAC-SHA256 under the destination's secret, hex in `X-Tern-Signature:
sha256=<hex>` (the receiver recomputes it over the raw body). `Idempotency-Key` names the batch
(<export id>:<batch number>), the same on every retry. 5xx, 408, 429, timeouts and refused connections
are retried with exponential backoff and jitter; any other answer (a redirect too), a host that resolves to
an internal address (tern.exports.addresses), or a batch still failing after the last attempt, ends the
delivery with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from tern import __version__
from tern.errors import DeliveryFailed, NotFoundError
from tern.exports.addresses import RefusedAddress, opener
from tern.exports.repository import DestinationRepository

RETRIED_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Webhook:
    url: str
    secret: str
    timeout_seconds: float = 10
    max_attempts: int = 5
    first_delay: float = 0.5
    max_delay: float = 30
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = field(default=random.random)
    allow_loopback: bool = False  # the local stack and tests only (tern.exports.addresses)

    def post(self, body: bytes, batch_key: str) -> int:
        """Deliver one batch; returns the attempts it took, or raises DeliveryFailed with the reason."""
        headers = {
            "Content-Type": "application/json", "User-Agent": f"tern/{__version__}",
            "X-Tern-Signature": signature(self.secret, body), "Idempotency-Key": batch_key,
        }  # fmt: skip
        delay = self.first_delay
        connections = opener(self.allow_loopback)
        for attempt in range(1, self.max_attempts + 1):
            try:
                with connections.open(urllib.request.Request(self.url, data=body, headers=headers, method="POST"), timeout=self.timeout_seconds):
                    return attempt
            except RefusedAddress as e:  # the name resolves somewhere internal now: never retried
                raise DeliveryFailed(f"batch {batch_key}: {e}", attempt) from None
            except urllib.error.HTTPError as e:
                reason = f"the destination answered {e.code} {e.reason}"
                if e.code not in RETRIED_STATUSES:
                    raise DeliveryFailed(f"batch {batch_key}: {reason}", attempt) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                cause = getattr(e, "reason", e)
                reason = "the destination did not answer in time" if isinstance(cause, TimeoutError) else f"cannot reach the destination: {cause}"
            if attempt < self.max_attempts:
                self.sleep(delay * (0.5 + self.jitter()))
                delay = min(delay * 2, self.max_delay)
        raise DeliveryFailed(f"batch {batch_key}: {reason} ({self.max_attempts} attempts)", self.max_attempts)


@dataclass
class WebhookDeliveries:
    """tern.ports.Deliveries over the org's destinations: what a journey's webhook step posts through."""

    destinations: DestinationRepository
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
        hook = Webhook(destination.url, destination.secret, timeout_seconds=self.timeout_seconds, max_attempts=self.max_attempts,
                       allow_loopback=self.allow_loopback)  # fmt: skip
        return hook.post(body, key)
