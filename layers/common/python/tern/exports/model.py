"""Exports, bulk actions and webhook destinations: what a marketer asks for and what the store keeps."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tern.clock import Instant
from tern.text import OneLine

Format = Literal["csv", "xlsx", "audience", "webhook"]
Columns = Literal["summary", "full"]
JobStatus = Literal["planned", "queued", "running", "done", "failed"]
Kind = Literal["tag", "category", "consent"]
Change = Literal["add", "remove"]
ID = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ExportRequest(BaseModel):
    """POST /segments/{id}/exports."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Format = "csv"
    columns: Columns = "summary"
    destination_id: ID | None = None

    @model_validator(mode="after")
    def _destination(self) -> ExportRequest:
        if self.format == "webhook" and not self.destination_id:
            raise ValueError("a webhook export needs destination_id")
        if self.format != "webhook" and self.destination_id:
            raise ValueError("destination_id goes with format webhook only")
        return self


class ActionRequest(BaseModel):
    """POST /segments/{id}/actions: add or remove a tag, category or consent on every current member."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Kind
    value: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    action: Change


class _Job(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    org_id: str
    segment_id: str
    status: JobStatus = "queued"
    requested_at: Instant
    started_at: Instant | None = None
    finished_at: Instant | None = None
    evaluation_id: str | None = None  # the membership the job read
    error: str | None = None
    version: int = 0


class Export(_Job):
    format: Format
    columns: Columns
    destination_id: str | None = None
    rows: int = 0  # rows written (files) or members delivered (webhook)
    skipped: int = 0  # members with nothing to write (an audience file's contacts without e-mail or phone)
    batches: int = 0  # webhook batches delivered
    attempts: int = 0  # webhook requests made, retries included
    key: str | None = None  # the file in the results bucket
    filename: str | None = None
    expires_at: Instant | None = None  # when the results bucket's lifecycle rule deletes the file


class Action(_Job):
    kind: Kind
    value: str
    action: Change
    at: Instant | None = None  # the time of the overlay change, fixed once counted (a retry writes the same)
    members: int = 0
    changed: int = 0
    already: int = 0  # members that already had the value (add) or already lacked it (remove)


Secret = Annotated[str, Field(min_length=16, max_length=256, description="write-only: never shown again"), OneLine]


class DestinationSettings(BaseModel):
    """Where webhook exports and journeys' webhook steps deliver, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    url: Annotated[str, Field(pattern=r"^https?://[^\s/?#]+[^\s]*$", max_length=2000)]
    batch_size: Annotated[int, Field(strict=True, ge=1, le=10_000)] = 500
    timeout_seconds: Annotated[float, Field(strict=True, gt=0, le=60)] = 10


class DestinationRequest(DestinationSettings):
    """POST /destinations: the settings and the signing secret (kept in Secrets Manager, never shown again)."""

    secret: Secret


class SecretRotation(BaseModel):
    """POST /destinations/{id}/secret: a new signing secret; the old one still signs for `overlap_hours`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    secret: Secret
    overlap_hours: Annotated[int, Field(strict=True, ge=0, le=168)] = 24


class Destination(DestinationSettings):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    org_id: str
    created_at: Instant
    secret_name: str  # in Secrets Manager (tern.exports.webhook.secret_name)
    secret_rotated_at: Instant | None = None
    previous_secret_until: Instant | None = None  # until then, deliveries are signed with the previous secret too
    version: int = 0

    def public(self) -> dict[str, object]:
        """What the API shows (the secret lives in Secrets Manager, never here)."""
        return self.model_dump(mode="json", exclude={"version", "secret_name"})
