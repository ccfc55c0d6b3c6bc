"""Connected ad accounts: checked with the platform when added (a 400 naming what it refused), their credentials kept
in Secrets Manager (`<prefix>-<org digest>-<id>`, encrypted, readable only by the functions that sync), never shown
again, removable once no audience uses them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tern.audiences.model import AccountRequest, AdAccount, GoogleAccountRequest, MetaAccountRequest
from tern.audiences.platforms import Google, Meta, Platform
from tern.audiences.repository import AdAccountRepository, AudienceRepository
from tern.clock import Clock, naive_utc, utc_now
from tern.errors import ConflictError, DefinitionError, PlatformUnavailable, Problem, TernError
from tern.exports.google import GoogleAudiences
from tern.exports.meta import GRAPH, MetaAudiences
from tern.exports.webhook import secret_name
from tern.ports import SigningSecrets

DATA_MANAGER = "https://datamanager.googleapis.com"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True)
class Endpoints:
    """Where the platforms answer: theirs in a deployed stack; stand-ins on 127.0.0.1 in tests."""

    meta: str = GRAPH
    google: str = DATA_MANAGER
    google_token: str = GOOGLE_TOKEN


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# While a marketer waits on the API (API Gateway gives up after 29 s): two attempts, a short wait, a short timeout.
# A sync in the export function takes the clients' own patient defaults (5 attempts, backoff up to a minute).
WAITED = {"max_attempts": 2, "first_delay": 0.5, "timeout_seconds": 5.0}  # Google's token and call: 2 x (2 x 5 s)


def platform_of(
    platform: str, account: str, login_account: str | None, credentials: dict[str, str], endpoints: Endpoints, waited: bool = False
) -> Platform:
    patience: dict[str, Any] = WAITED if waited else {}
    if platform == "meta":
        return Meta(MetaAudiences(credentials["access_token"], account, base_url=endpoints.meta, **patience))
    return Google(GoogleAudiences(
        credentials["client_id"], credentials["client_secret"], credentials["refresh_token"], account, login_account,
        base_url=endpoints.google, token_url=endpoints.google_token, **patience,
    ))  # fmt: skip


def refused(error: TernError, field: str) -> TernError:
    """What the API answers when a platform said no while a marketer waited: 400 on the field it refused, or 503
    when it could not be reached or kept throttling."""
    if getattr(error, "transient", False):
        return PlatformUnavailable(str(error))
    return DefinitionError([Problem(field, str(error))])


def _credentials(request: MetaAccountRequest | GoogleAccountRequest) -> tuple[str, str | None, dict[str, str], str]:
    """The account, its login account, the credentials to keep secret, and the field a refusal is about."""
    if isinstance(request, MetaAccountRequest):
        return _digits(request.ad_account_id), None, {"access_token": request.access_token}, "access_token"
    login = _digits(request.login_customer_id) if request.login_customer_id else None
    secret = {"client_id": request.client_id, "client_secret": request.client_secret, "refresh_token": request.refresh_token}
    return _digits(request.customer_id), login, secret, "refresh_token"


@dataclass
class AdAccounts:
    """One org's connected accounts. Every call is bound to `org_id`: another org's account is not found."""

    org_id: str
    repository: AdAccountRepository
    audiences: AudienceRepository
    secrets: SigningSecrets
    prefix: str  # the stage's: `tern-<stage>-adaccount`
    endpoints: Endpoints = Endpoints()
    clock: Clock = utc_now
    platforms: Callable[[str, str, str | None, dict[str, str], Endpoints, bool], Platform] = platform_of

    def add(self, request: AccountRequest) -> AdAccount:
        """The account checked with its platform first (nothing is kept when it refuses), then its credentials in
        Secrets Manager, then the record (a failure after leaves no secret behind)."""
        account, login, credentials, field = _credentials(request)
        try:
            platform_name = self.platforms(request.platform, account, login, credentials, self.endpoints, True).check()
        except TernError as e:
            raise refused(e, field) from None
        account_id = uuid.uuid4().hex[:12]
        name = secret_name(self.prefix, self.org_id, account_id)
        self.secrets.create(name, json.dumps(credentials))
        record = AdAccount(
            id=account_id, org_id=self.org_id, platform=request.platform, name=request.name, account=account, login_account=login,
            platform_name=platform_name, created_at=naive_utc(self.clock()), secret_name=name,
        )  # fmt: skip
        try:
            return self.repository.create(record)
        except Exception:
            self.secrets.delete(name)
            raise

    def all(self) -> list[AdAccount]:
        return self.repository.all(self.org_id)

    def get(self, account_id: str) -> AdAccount:
        return self.repository.get(self.org_id, account_id)

    def platform(self, account: AdAccount, waited: bool = False) -> Platform:
        """The account's platform, its credentials read from Secrets Manager now (a replaced secret counts at once);
        `waited`: for a call a marketer waits on."""
        credentials = json.loads(self.secrets.current(account.secret_name))
        return self.platforms(account.platform, account.account, account.login_account, credentials, self.endpoints, waited)

    def remove(self, account_id: str) -> AdAccount:
        """The account and its credentials gone; refused while a segment's audience syncs through it."""
        account = self.get(account_id)
        using = sorted({a.segment_id for a in self.audiences.all(self.org_id) if a.account_id == account_id})
        if using:
            raise ConflictError(f"segments {', '.join(using)} sync audiences through it: remove those audiences first")
        self.secrets.delete(account.secret_name)  # first: a failure leaves the account, to be removed again
        self.repository.delete(self.org_id, account_id)
        return account

    def replace_credentials(self, account_id: str, request: AccountRequest) -> AdAccount:
        """New credentials for the same account (an expired or revoked token), checked with the platform first; the
        audiences syncing through it use them from their next call."""
        account = self.get(account_id)
        number, login, credentials, field = _credentials(request)
        if request.platform != account.platform or number != account.account:
            what = "ad_account_id" if request.platform == "meta" else "customer_id"
            raise DefinitionError(
                [Problem(what, f"must be the connected account's own ({account.account}); connect another as a new account")]
            )
        try:
            platform_name = self.platforms(request.platform, number, login, credentials, self.endpoints, True).check()
        except TernError as e:
            raise refused(e, field) from None
        self.secrets.rotate(account.secret_name, json.dumps(credentials))
        return self.repository.save(
            account.model_copy(update={"login_account": login, "platform_name": platform_name, "name": request.name})
        )
