"""Segments on the ad platforms: the accounts an org connects, the audiences its segments fill, and their syncs."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tern.clock import Instant
from tern.text import OneLine

PlatformName = Literal["meta", "google"]
SyncKind = Literal["changes", "replace"]
SyncStatus = Literal["queued", "running", "done", "failed", "skipped"]
ID = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200), OneLine]
Credential = Annotated[str, Field(min_length=8, max_length=4096, pattern=r"^\S+$", description="write-only: never shown again")]
Consent = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$",
          description="the consent a member must have to be sent (as contacts' consents hold it), e.g. ad_audiences"),
]  # fmt: skip


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetaAccountRequest(_Request):
    """A Meta ad account: a system user's access token that may manage its custom audiences."""

    platform: Literal["meta"]
    name: Name
    ad_account_id: Annotated[str, Field(pattern=r"^(act_)?[0-9]{1,20}$", description="the ad account's number (act_ optional)")]
    access_token: Credential


class GoogleAccountRequest(_Request):
    """A Google Ads account, through the Data Manager API: an OAuth client and a refresh token with its scope."""

    platform: Literal["google"]
    name: Name
    customer_id: Annotated[str, Field(pattern=r"^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$", description="the Google Ads customer id")]
    login_customer_id: Annotated[str | None, Field(pattern=r"^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$")] = None
    client_id: Annotated[str, Field(min_length=8, max_length=300, pattern=r"^\S+$")]
    client_secret: Credential
    refresh_token: Credential


AccountRequest = Annotated[MetaAccountRequest | GoogleAccountRequest, Field(discriminator="platform")]


class AdAccount(BaseModel):
    """A connected account. Its credentials live in Secrets Manager (`secret_name`), never in the table."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    org_id: str
    platform: PlatformName
    name: str
    account: str  # the ad account's number (Meta) or customer id (Google), digits only
    login_account: str | None = None
    platform_name: str  # what the platform called the account when it was checked
    created_at: Instant
    secret_name: str
    version: int = 0

    HIDDEN: ClassVar[frozenset[str]] = frozenset({"version", "secret_name"})  # what the API never shows (tern.api.contract too)

    def public(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude=set(self.HIDDEN))


class AudienceRequest(_Request):
    """POST /segments/{id}/audiences: the account, the consent members need, and the platform's audience to fill (an
    existing one's id) or, without one, a new audience named `name` (the segment's name if unset)."""

    account_id: ID
    consent: Consent
    platform_audience_id: Annotated[str | None, Field(pattern=r"^[0-9]{1,30}$")] = None
    name: Name | None = None


class SyncRequest(_Request):
    """POST /segments/{id}/audiences/{audience}/syncs: `replace` makes the platform's audience exactly the members."""

    replace: bool = False


class SyncReport(BaseModel):
    """What a sync did: the members added and removed, what the platform reported, and why it failed if it did."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sync_id: str
    kind: SyncKind
    status: SyncStatus
    finished_at: Instant | None = None
    evaluation_id: str | None = None
    added: int = 0
    removed: int = 0
    members: int = 0  # in the platform's audience after it, as Tern sent them
    without_consent: int = 0  # members of the segment left out: they lack the audience's consent
    unmatchable: int = 0  # members with nothing the platform matches on (no e-mail, phone or whole address)
    matched: str | None = None  # the platform's match rate, where it reports one
    pending: int = 0  # requests the platform was still processing when the sync ended
    errors: dict[str, int] = {}  # reason -> records the platform refused
    error: str | None = None


class Audience(BaseModel):
    """A segment's audience on one platform, kept in step with the segment after each refresh."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    org_id: str
    segment_id: str
    account_id: str
    platform: PlatformName
    platform_audience_id: str
    name: str
    consent: str
    created_at: Instant
    running: str | None = None  # the sync that holds the audience now
    running_since: Instant | None = None
    again: bool = False  # a sync was asked for while another ran: it runs when that one ends
    owed_replace: bool = False  # the next sync replaces: one failed or died after planning, or a replace was asked for
    last_sync: SyncReport | None = None
    version: int = 0

    HIDDEN: ClassVar[frozenset[str]] = frozenset({"version", "again", "owed_replace"})

    def public(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude=set(self.HIDDEN))


class Sync(BaseModel):
    """One sync of an audience, run by the export function; what it recorded lets a retried run resume."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    org_id: str
    segment_id: str
    audience_id: str
    kind: SyncKind
    status: SyncStatus = "queued"
    requested_at: Instant
    started_at: Instant | None = None
    finished_at: Instant | None = None
    evaluation_id: str | None = None
    planned: bool = False  # its plan (removes, then adds) is written; a retry sends from it
    widened: bool = False  # the audience's record of what the platform holds now includes what this sends
    added: int = 0
    removed: int = 0
    members: int = 0
    without_consent: int = 0
    unmatchable: int = 0
    batches: int = 0  # batches of the plan
    sent_batches: int = 0  # ...sent and acknowledged (a retry starts after them)
    attempts: int = 0  # requests made, retries included
    invalid: int = 0  # records the platform reported invalid
    request_ids: list[str] = []  # the platform's, where it answers later (Google's requestStatus)
    report: SyncReport | None = None
    error: str | None = None
    runner: str | None = None  # the run that has it: a second run of the same sync quits, a retry takes over
    version: int = 0

    HIDDEN: ClassVar[frozenset[str]] = frozenset({"version", "planned", "widened", "sent_batches", "request_ids", "invalid", "runner"})

    def key(self) -> str:
        return f"{self.audience_id}#{self.id}"

    def public(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude=set(self.HIDDEN))
