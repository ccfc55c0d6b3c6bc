"""Webhook destinations: where exports and journeys' webhook steps deliver, and the secret they sign with.

The secret never sits in the table: each destination's is a secret of its own in Secrets Manager
(`<prefix>-<org digest>-<id>`, encrypted under KMS, readable only by the functions that deliver), written once
and never shown again. Rotating it puts a new version; for the overlap the org chooses (24 hours unless it
says), every delivery is signed under both the new and the previous secret, so the receiver can switch at any
moment of it and no delivery fails verification. Outside the local stack a destination must be https: members'
personal data never crosses the internet in clear.

    destination    ORG#<org>    DESTINATION#<id>    name, url, secret_name, previous_secret_until, ...
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from tern.clock import Clock, naive_utc, utc_now
from tern.errors import ConflictError, DefinitionError, Problem
from tern.exports.addresses import RefusedAddress, check_url
from tern.exports.model import Destination, DestinationRequest, SecretRotation
from tern.exports.repository import DestinationRepository
from tern.exports.webhook import secret_name
from tern.ports import SigningSecrets


@dataclass
class Destinations:
    """One org's webhook destinations. Every call is bound to `org_id`: another org's destination is not found."""

    org_id: str
    repository: DestinationRepository
    secrets: SigningSecrets
    prefix: str  # the stage's secrets: `tern-<stage>-webhook`
    clock: Clock = utc_now
    allow_loopback: bool = False  # http:// to 127.0.0.1: the local stack and tests only

    def _check(self, url: str) -> None:
        if not url.startswith("https://") and not self.allow_loopback:
            raise DefinitionError([Problem("url", "must be https://: members' data never travels in clear")])
        try:
            check_url(url, self.allow_loopback)
        except RefusedAddress as e:
            raise DefinitionError([Problem("url", str(e))]) from None

    def add(self, request: DestinationRequest) -> Destination:
        """The destination, its secret kept in Secrets Manager first (a failure after leaves no destination behind)."""
        self._check(request.url)
        destination_id = uuid.uuid4().hex[:12]
        name = secret_name(self.prefix, self.org_id, destination_id)
        self.secrets.create(name, request.secret)
        settings = request.model_dump(exclude={"secret"})
        try:
            return self.repository.create(
                Destination(id=destination_id, org_id=self.org_id, created_at=naive_utc(self.clock()), secret_name=name, **settings)
            )
        except Exception:
            self.secrets.delete(name)
            raise

    def all(self) -> list[Destination]:
        return self.repository.all(self.org_id)

    def get(self, destination_id: str) -> Destination:
        return self.repository.get(self.org_id, destination_id)

    def rotate(self, destination_id: str, rotation: SecretRotation) -> Destination:
        """The new secret signs from now on; the previous one too, until the overlap ends. While an overlap runs only a
        rotation without one is taken (a leaked secret is replaced at once): another would drop the secret the
        receiver may still hold. The record is written first: a failed rotation is written back as it was."""
        destination = self.get(destination_id)
        now = naive_utc(self.clock())
        if rotation.overlap_hours and destination.previous_secret_until is not None and now < destination.previous_secret_until:
            raise ConflictError(
                f"the previous secret still works until {destination.previous_secret_until:%Y-%m-%d %H:%M} UTC: replace it after that, "
                "or now with no overlap"
            )
        until = now + dt.timedelta(hours=rotation.overlap_hours) if rotation.overlap_hours else None
        saved = self.repository.save(destination.model_copy(update={"secret_rotated_at": now, "previous_secret_until": until}))
        try:
            self.secrets.rotate(destination.secret_name, rotation.secret)
        except Exception:
            self.repository.save(
                saved.model_copy(
                    update={"secret_rotated_at": destination.secret_rotated_at, "previous_secret_until": destination.previous_secret_until}
                )
            )
            raise
        return saved

    def remove(self, destination_id: str) -> Destination:
        """The destination gone, and its secret with it (callers check first that no live journey delivers to it)."""
        destination = self.get(destination_id)
        self.repository.delete(self.org_id, destination_id)
        self.secrets.delete(destination.secret_name)
        return destination
