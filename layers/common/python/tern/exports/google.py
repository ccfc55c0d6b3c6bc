"""Google's Customer Match through the Data Manager API (datamanager.googleapis.com, v1): the client issue 30's audience
sync uses, since the Google Ads API's offline user data jobs refuse developer tokens new to Customer Match.

Checked against the v1 protos (googleapis/googleapis google/ads/datamanager/v1: ingestion_service, audience,
destination, user_data, consent, terms_of_service, request_status_per_destination, processing_errors, match_rate,
error, user_list, user_list_service) and the guides at developers.google.com/data-manager/api ("Send audience
members", "Remove all members from an audience", "Create a Customer Match audience", "Diagnostics", "Limits and
quotas", "Understand API errors"):

- Credentials are an OAuth client's and a user's refresh token: `POST https://oauth2.googleapis.com/token` with the
  form {grant_type=refresh_token, client_id, client_secret, refresh_token} answers {access_token, expires_in,
  token_type}, or {"error": "invalid_grant"} (the refresh token expired or was revoked) or "invalid_client". Scope
  https://www.googleapis.com/auth/datamanager; no developer token. The access token is cached until a minute before
  it expires; a 401 (UNAUTHENTICATED) fetches a new one and the call is made once more.
- A connected account is checked by listing its user lists (`GET /v1/accountTypes/GOOGLE_ADS/accounts/{id}/userLists
  ?pageSize=1`); a list is made with `POST` to the same collection: a UserList {displayName, description,
  ingestedUserListInfo {uploadKeyTypes [CONTACT_ID], contactIdInfo {dataSourceType DATA_SOURCE_TYPE_FIRST_PARTY}}},
  answered with the UserList, whose `id` is the list's id (`name` accountTypes/GOOGLE_ADS/accounts/{id}/userLists/{id}).
  No membershipDuration is sent: unset is the maximum, and a member leaves a synced list when Tern removes it. These
  calls carry a manager account in the `login-account` header (accountTypes/GOOGLE_ADS/accounts/{id}).
- Members go in with `POST /v1/audienceMembers:ingest` {destinations [{operatingAccount {accountType GOOGLE_ADS,
  accountId}, loginAccount?, productDestinationId: the list's id}], audienceMembers [{userData {userIdentifiers}}]
  (tern.exports.matching's google_identifiers), consent {adUserData, adPersonalization}, encoding HEX,
  termsOfService {customerMatchTermsOfServiceStatus ACCEPTED}}; out with `POST /v1/audienceMembers:remove` (the same
  destinations, members and encoding; the request has no consent or terms), and all at once with `POST
  /v1/audienceMembers:removeAll` {destinations}. Each answers {requestId}. At most 10,000 members a request and 10
  identifiers a member; one invalid record refuses the whole request (the fast-fail model).
- `GET /v1/requestStatus:retrieve?requestId=` answers {requestStatusPerDestination [{requestStatus (PROCESSING,
  SUCCESS, PARTIAL_SUCCESS, FAILED), errorInfo {errorCounts [{recordCount, reason}]}, audienceMembersIngestionStatus
  {userDataIngestionStatus {recordCount, userIdentifierCount, uploadMatchRateRange}}}]}.
- Errors are a google.rpc.Status {"error": {code, message, status, details}}: an ErrorInfo's `reason` and a
  BadRequest's fieldViolations[].reason name the cause (INVALID_SHA256_FORMAT comes as a field violation under an
  INVALID_ARGUMENT ErrorInfo). 429 RESOURCE_EXHAUSTED (the per-minute quota) and 500/502/503/504 are retried with
  exponential backoff and jitter, waiting at least a RetryInfo's retryDelay; a spent daily quota (ErrorInfo
  metadata.quota_limit ...PerDay...) and anything else end the call with GoogleRefused, whose message says in words
  what Google refused and whose `reasons` keep Google's codes. A repeated request is harmless: adding or removing the
  same members twice leaves a list as once, and a list made by an attempt whose answer was lost is found by its name.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tern import __version__
from tern.errors import TernError

DATA_MANAGER = "https://datamanager.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
MAX_IDENTIFIERS = 10  # per member (UserData.user_identifiers)
EARLY_SECONDS = 60  # an access token is renewed this long before Google says it expires
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
TRANSIENT_CODES = frozenset({"UNAVAILABLE", "ABORTED", "DEADLINE_EXCEEDED", "INTERNAL"})
DONE = frozenset({"SUCCESS", "PARTIAL_SUCCESS", "FAILED", "FAILURE"})  # the Diagnostics guide writes FAILURE, the proto FAILED
MATCH_RATES = {  # MatchRateRange -> (lowest, highest) percent
    "MATCH_RATE_RANGE_LESS_THAN_20": (0, 19),
    "MATCH_RATE_RANGE_20_TO_30": (20, 30),
    "MATCH_RATE_RANGE_31_TO_40": (31, 40),
    "MATCH_RATE_RANGE_41_TO_50": (41, 50),
    "MATCH_RATE_RANGE_51_TO_60": (51, 60),
    "MATCH_RATE_RANGE_61_TO_70": (61, 70),
    "MATCH_RATE_RANGE_71_TO_80": (71, 80),
    "MATCH_RATE_RANGE_81_TO_90": (81, 90),
    "MATCH_RATE_RANGE_91_TO_100": (91, 100),
}
_UNHASHED = {"INVALID_HEX_ENCODING", "INVALID_SHA256_FORMAT", "INVALID_BASE64_ENCODING"}
_ADDRESS = {"INVALID_POSTAL_CODE", "INVALID_REGION_CODE", "INVALID_COUNTRY_CODE"}
_NO_LIST = {"INVALID_USER_LIST_ID", "NOT_FOUND"}
_NOT_ELIGIBLE = {"ADVERTISER_NOT_ALLOWLISTED_FOR_UPLOADED_DATA", "USER_LIST_TYPE_NOT_SUPPORTED_FOR_ACCOUNT"}
_DIGITS = re.compile(r"\d+")


class GoogleRefused(TernError):
    """Google refused a call for good (retrying the same would not help). `reasons` keeps Google's codes: ErrorInfo
    and field-violation reasons (INVALID_SHA256_FORMAT, TERMS_AND_CONDITIONS_NOT_SIGNED, ...), else the status
    (PERMISSION_DENIED) or the OAuth error (invalid_grant)."""

    def __init__(self, reason: str, reasons: tuple[str, ...] = (), http_status: int | None = None, attempts: int = 1,
                 transient: bool = False):  # fmt: skip
        super().__init__(reason)
        self.reasons, self.http_status, self.attempts = reasons, http_status, attempts
        self.transient = transient  # Google was unreachable or kept throttling: the same call may pass later


@dataclass(frozen=True)
class Sent:
    """What one request handed over: its members, the attempts it took, and the id to ask its outcome by."""

    members: int
    attempts: int
    request_id: str | None


@dataclass(frozen=True)
class Outcome:
    """What Google's diagnostics said of some requests."""

    pending: int  # requests Google is still processing
    matched: str | None  # the upload match rate range in words ("51-60%"), where Google reports one
    errors: dict[str, int]  # processing error reason -> records refused


def customer_digits(customer_id: str) -> str:
    """A Google Ads customer id as the API takes it: its ten digits ("123-456-7890" -> "1234567890")."""
    digits = str(customer_id).strip().replace("-", "")
    if not re.fullmatch(r"\d{10}", digits):
        raise ValueError(f"a Google Ads customer id is ten digits, like 123-456-7890: {customer_id!r}")
    return digits


def _dashed(digits: str) -> str:
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def _seconds(duration: object) -> float | None:
    """A google.protobuf.Duration in JSON ("1.5s") in seconds."""
    if isinstance(duration, str) and duration.endswith("s"):
        try:
            return float(duration[:-1])
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class _Problem:
    """An error answer, from the Data Manager API (google.rpc.Status) or from the token endpoint (OAuth)."""

    http_status: int
    code: str  # the Status's `status` (INVALID_ARGUMENT) or the OAuth `error` (invalid_grant)
    message: str
    reasons: tuple[str, ...]
    fields: tuple[str, ...]  # "field: description" of each field violation
    quota_limit: str = ""
    retry_delay: float | None = None

    @classmethod
    def read(cls, http_status: int, body: bytes) -> _Problem:
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            answer = {}
        error = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(error, str):  # OAuth's {"error": "invalid_grant", "error_description": ...}
            return cls(http_status, error, str(answer.get("error_description") or ""), (error,), ())
        error = error if isinstance(error, dict) else {}
        reasons: list[str] = []
        fields: list[str] = []
        quota_limit, retry_delay = "", None
        for detail in error.get("details") or []:
            kind = str(detail.get("@type", ""))
            if kind.endswith("google.rpc.ErrorInfo"):
                reasons.append(str(detail.get("reason", "")))
                quota_limit = str((detail.get("metadata") or {}).get("quota_limit", quota_limit))
            elif kind.endswith("google.rpc.BadRequest"):
                for violation in detail.get("fieldViolations") or []:
                    reasons.append(str(violation.get("reason", "")))
                    fields.append(f"{violation.get('field', '')}: {violation.get('description') or violation.get('reason', '')}")
            elif kind.endswith("google.rpc.RetryInfo"):
                retry_delay = _seconds(detail.get("retryDelay"))
        code = str(error.get("status") or "")
        specific = tuple(r for r in dict.fromkeys(reasons) if r and r != code)  # the generic INVALID_ARGUMENT ErrorInfo last
        return cls(http_status, code, str(error.get("message") or ""), specific or ((code,) if code else ()), tuple(fields),
                   quota_limit, retry_delay)  # fmt: skip

    @property
    def daily_quota(self) -> bool:
        return "PerDay" in self.quota_limit

    @property
    def transient(self) -> bool:
        if self.http_status == 429 or self.code == "RESOURCE_EXHAUSTED":
            return not self.daily_quota
        return self.http_status in TRANSIENT_STATUSES or self.code in TRANSIENT_CODES

    def words(self, account: str) -> str:
        """What Google refused, as an operator reads it (the codes stay on GoogleRefused.reasons)."""
        said = set(self.reasons) | {self.code}
        detail = "; ".join(self.fields) or self.message or "no reason given"
        if "invalid_grant" in said:
            return "Google refused the refresh token: it has expired or was revoked; give the account new credentials"
        if said & {"invalid_client", "unauthorized_client"}:
            return f"Google refused Tern's OAuth client: its id or secret is wrong ({self.message or self.code})"
        if self.http_status == 400 and self.code and self.code.islower():  # any other OAuth error
            return f"Google's sign-in refused the refresh token ({self.code}: {self.message})"
        if "TERMS_AND_CONDITIONS_NOT_SIGNED" in said:
            return f"Google refused: {account} has not accepted Customer Match's terms; accept them in Google Ads and sync again"
        if said & _UNHASHED:
            return f"Google refused the whole request: a member's identifiers are not SHA-256 hashed as it expects ({detail})"
        if said & _ADDRESS:
            return f"Google refused the whole request: a member's address has an invalid postal code or country ({detail})"
        if said & _NO_LIST or self.http_status == 404:
            return f"Google refused: the user list does not exist in {account} (it may have been deleted in Google Ads)"
        if "INVALID_USER_LIST_TYPE" in said:
            return "Google refused: the user list is not a Customer Match list of contact information"
        if "DISPLAY_NAME_ALREADY_USED" in said:
            return f"Google refused: {account} already has a list of that name; choose another"
        if "SERVICE_DISABLED" in said:
            return f"Google refused: the Data Manager API is off in the Google Cloud project of Tern's OAuth client ({self.message})"
        if "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in said:
            return "Google refused: the connection was not granted access to Google's Data Manager; give the account new credentials"
        if said & _NOT_ELIGIBLE:
            return f"Google refused: {account} may not use Customer Match (see Google's Customer Match policy)"
        if self.http_status == 403 or "PERMISSION_DENIED" in said:
            return f"Google refused: the connected Google account may not manage the audiences of {account}"
        if self.http_status == 401:
            return "Google refused the access token even after renewing it; give the account new credentials"
        if self.daily_quota:
            return "Google's daily request quota for Tern's Google Cloud project is spent; the sync can continue tomorrow"
        if self.http_status == 429 or self.code == "RESOURCE_EXHAUSTED":
            return f"Google kept refusing for too many requests ({self.message})"
        if self.transient:
            return f"Google failed on its side ({self.http_status} {self.code}: {self.message})"
        return f"Google refused the request ({self.code or self.http_status}): {detail}"


@dataclass
class GoogleAudiences:
    client_id: str
    client_secret: str
    refresh_token: str
    customer_id: str  # the Google Ads customer (the operating account), digits only (dashes are dropped)
    login_customer_id: str | None = None  # a manager account the credentials log in through
    base_url: str = DATA_MANAGER
    token_url: str = TOKEN_URL
    timeout_seconds: float = 30
    max_attempts: int = 5
    first_delay: float = 2.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = field(default=random.random)
    clock: Callable[[], float] = field(default=time.monotonic)  # when the cached access token expires
    batch_size: ClassVar[int] = 10_000  # audience members a request may hold
    _access_token: str | None = field(default=None, init=False, repr=False)
    _expires_at: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.customer_id = customer_digits(self.customer_id)
        self.login_customer_id = customer_digits(self.login_customer_id) if self.login_customer_id else None

    @property
    def _account_words(self) -> str:
        return f"Google Ads account {_dashed(self.customer_id)}"

    def account(self) -> str:
        """The connected account's name to show ("Google Ads 123-456-7890"), once Google accepted the refresh token
        and let it read the account's user lists (else GoogleRefused naming what it refused)."""
        self._call("GET", self._collection, query={"pageSize": "1"}, login_header=True)
        return f"Google Ads {_dashed(self.customer_id)}"

    def create(self, name: str, description: str = "") -> str:
        """A new Customer Match list of the org's own contacts (hashed e-mail, phone, address); its id."""
        user_list = {
            "displayName": name,
            "description": description or "Kept in step by Tern",  # the API's field mappings mark it required
            "ingestedUserListInfo": {"uploadKeyTypes": ["CONTACT_ID"], "contactIdInfo": {"dataSourceType": "DATA_SOURCE_TYPE_FIRST_PARTY"}},
        }
        try:
            made, _ = self._call("POST", self._collection, body=user_list, login_header=True)
        except GoogleRefused as refused:
            if "DISPLAY_NAME_ALREADY_USED" in refused.reasons and refused.attempts > 1:  # an earlier attempt made it
                found = self._named(name)
                if found is not None:
                    return found
            raise
        return _list_id(made)

    def add(self, list_id: str, members: list[list[dict[str, object]]]) -> Sent:
        """One ingest request: `members` (google_identifiers() of each, at most batch_size) into the list."""
        body = self._members_body(list_id, members)
        body["consent"] = {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"}
        body["termsOfService"] = {"customerMatchTermsOfServiceStatus": "ACCEPTED"}
        return self._send("audienceMembers:ingest", body, len(members))

    def remove(self, list_id: str, members: list[list[dict[str, object]]]) -> Sent:
        """One remove request: `members` (as for add) out of the list."""
        return self._send("audienceMembers:remove", self._members_body(list_id, members), len(members))

    def remove_all(self, list_id: str) -> Sent:
        """One request emptying the list (every member added until now)."""
        return self._send("audienceMembers:removeAll", {"destinations": [self._destination(list_id)]}, 0)

    def outcome(self, request_ids: list[str]) -> Outcome:
        """What Google's diagnostics say of the requests so far (the Diagnostics guide: ask from about 30 minutes
        after sending, and again while some are pending)."""
        pending, ranges, errors = 0, set[tuple[int, int]](), dict[str, int]()
        for request_id in request_ids:
            answer, _ = self._call("GET", "requestStatus:retrieve", query={"requestId": request_id})
            statuses = answer.get("requestStatusPerDestination") or []
            if any(s.get("requestStatus") not in DONE for s in statuses) or not statuses:
                pending += 1  # PROCESSING, or a status Google has not settled yet
            for status in statuses:
                for count in (status.get("errorInfo") or {}).get("errorCounts") or []:
                    reason = str(count.get("reason", "PROCESSING_ERROR_REASON_UNSPECIFIED"))
                    errors[reason] = errors.get(reason, 0) + int(count.get("recordCount", 0))
                ingested = status.get("audienceMembersIngestionStatus") or {}
                for kind in ("userDataIngestionStatus", "compositeDataIngestionStatus"):
                    rate = (ingested.get(kind) or {}).get("uploadMatchRateRange")
                    if rate in MATCH_RATES:
                        ranges.add(MATCH_RATES[rate])
        return Outcome(pending, _match_words(ranges), errors)

    @property
    def _collection(self) -> str:
        return f"accountTypes/GOOGLE_ADS/accounts/{self.customer_id}/userLists"

    def _named(self, name: str) -> str | None:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        found, _ = self._call("GET", self._collection, query={"filter": f'display_name = "{quoted}"'}, login_header=True)
        lists = [ul for ul in found.get("userLists") or [] if ul.get("displayName") == name]
        return _list_id(lists[0]) if lists else None

    def _destination(self, list_id: str) -> dict[str, Any]:
        if not _DIGITS.fullmatch(str(list_id)):
            raise ValueError(f"a Google user list id is digits: {list_id!r}")
        destination: dict[str, Any] = {"operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": self.customer_id}}
        if self.login_customer_id:
            destination["loginAccount"] = {"accountType": "GOOGLE_ADS", "accountId": self.login_customer_id}
        destination["productDestinationId"] = str(list_id)
        return destination

    def _members_body(self, list_id: str, members: list[list[dict[str, object]]]) -> dict[str, Any]:
        if len(members) > self.batch_size:
            raise ValueError(f"a request holds at most {self.batch_size} members, not {len(members)}: send them in batches")
        for i, identifiers in enumerate(members):
            if not 1 <= len(identifiers) <= MAX_IDENTIFIERS:
                raise ValueError(f"member {i} has {len(identifiers)} identifiers; Google takes 1 to {MAX_IDENTIFIERS}")
        return {
            "destinations": [self._destination(list_id)],
            "audienceMembers": [{"userData": {"userIdentifiers": identifiers}} for identifiers in members],
            "encoding": "HEX",
        }

    def _send(self, method: str, body: dict[str, Any], members: int) -> Sent:
        if "audienceMembers" in body and not body["audienceMembers"]:
            return Sent(0, 0, None)  # nothing to hand over (Google requires at least one member)
        answer, attempts = self._call("POST", method, body=body)
        return Sent(members, attempts, answer.get("requestId"))

    def _token(self) -> str:
        """The access token, fetched when none is cached or it is about to expire."""
        if self._access_token and self.clock() < self._expires_at:
            return self._access_token
        form = {"grant_type": "refresh_token", "client_id": self.client_id, "client_secret": self.client_secret,
                "refresh_token": self.refresh_token}  # fmt: skip

        def request() -> urllib.request.Request:
            return urllib.request.Request(self.token_url, data=urllib.parse.urlencode(form).encode(), method="POST",
                                          headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

        answer, _ = self._retrying(request, renew_on_401=False)
        token = answer.get("access_token")
        if not token:
            raise GoogleRefused("Google's sign-in answered without an access token", ("no_access_token",))
        self._access_token = str(token)
        self._expires_at = self.clock() + float(answer.get("expires_in", 3600)) - EARLY_SECONDS
        return self._access_token

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, str] | None = None,
              login_header: bool = False) -> tuple[dict[str, Any], int]:  # fmt: skip
        """One Data Manager call, retried while Google throttles or fails on its side; its answer and the attempts it took."""
        url = f"{self.base_url}/v1/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None

        def request() -> urllib.request.Request:
            headers = {"Authorization": f"Bearer {self._token()}"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            if login_header and self.login_customer_id:
                headers["login-account"] = f"accountTypes/GOOGLE_ADS/accounts/{self.login_customer_id}"
            return urllib.request.Request(url, data=data, method=method, headers=headers)

        return self._retrying(request, renew_on_401=True)

    def _retrying(self, request: Callable[[], urllib.request.Request], renew_on_401: bool) -> tuple[dict[str, Any], int]:
        delay, attempts, renewed, reason = self.first_delay, 0, False, ""
        last: tuple[tuple[str, ...], int | None] = ((), None)  # the codes and HTTP status of the last refusal
        while True:
            attempts += 1
            prepared = request()
            prepared.add_header("User-Agent", f"tern/{__version__}")
            wait = 0.0
            try:
                with urllib.request.urlopen(prepared, timeout=self.timeout_seconds) as response:  # noqa: S310 - https to Google (a stand-in in tests)
                    return json.loads(response.read() or b"{}"), attempts
            except urllib.error.HTTPError as e:
                problem = _Problem.read(e.code, e.read())
                if e.code == 401 and renew_on_401 and not renewed:  # the access token expired early: a new one, once
                    self._access_token, renewed = None, True
                    continue
                reason = problem.words(self._account_words)
                if not problem.transient:
                    raise GoogleRefused(reason, problem.reasons, e.code, attempts) from None
                if problem.retry_delay is not None and problem.retry_delay > self.max_delay:  # longer than a sync may wait
                    reason = f"{reason}; Google asked to wait {problem.retry_delay:.0f}s"
                    raise GoogleRefused(reason, problem.reasons, e.code, attempts) from None
                wait = problem.retry_delay or 0.0
                last = (problem.reasons, e.code)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                reason, last = f"cannot reach Google: {getattr(e, 'reason', e)}", (("UNREACHABLE",), None)
            if attempts >= self.max_attempts:
                raise GoogleRefused(f"{reason} ({attempts} attempts)", last[0], last[1], attempts, transient=True)
            self.sleep(max(wait, delay * (0.5 + self.jitter())))
            delay = min(delay * 2, self.max_delay)


def _list_id(user_list: dict[str, Any]) -> str:
    """A UserList's id: its `id`, else the last part of its name (accountTypes/.../userLists/{id})."""
    return str(user_list.get("id") or str(user_list.get("name", "")).rsplit("/", 1)[-1])


def _match_words(ranges: set[tuple[int, int]]) -> str | None:
    """Match rate ranges in words: one range as Google gives it ("51-60%"), several as the span they cover."""
    if not ranges:
        return None
    low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
    return "less than 20%" if (low, high) == (0, 19) else f"{low}-{high}%"
