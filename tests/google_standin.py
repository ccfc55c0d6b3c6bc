"""A stand-in for Google's OAuth token endpoint and the Data Manager API (Customer Match) on 127.0.0.1, for tests only:
it accepts exactly the requests Google documents and answers in its shapes, so a client that passes here speaks
Google's contract. tern.exports.google's docstring names the protos and guides each rule comes from.

What it checks:
- `POST /token`: a form with grant_type refresh_token, a known client_id with its client_secret (else 401
  invalid_client) and a known refresh token (else 400 invalid_grant, "Token has been expired or revoked.");
- every API call carries `Authorization: Bearer` and a token it issued and has not expired (else 401 UNAUTHENTICATED,
  ErrorInfo ACCESS_TOKEN_EXPIRED); a manager in `login-account` or `loginAccount` must be one it knows;
- userLists: a GOOGLE_ADS account the credentials reach (else 403 PERMISSION_DENIED); a new list has a displayName
  unique in the account, ingestedUserListInfo with one upload key type, a membershipDuration of whole days;
- ingest / remove / removeAll: only the fields each request has (a remove with consent is refused as Google's JSON
  parser refuses an unknown name), 1 to 10 destinations of GOOGLE_ADS accounts with a productDestinationId of a list
  of that account (else INVALID_USER_LIST_ID), 1 to 10,000 audienceMembers each of userData with 1 to 10
  userIdentifiers, each exactly one of emailAddress, phoneNumber, address; under encoding HEX a hashed value is 64
  lowercase hex characters (INVALID_HEX_ENCODING, INVALID_SHA256_FORMAT as field violations under an
  INVALID_ARGUMENT ErrorInfo, as the "Send audience members" quickstart shows); an address has hashed names, a
  two-letter upper-case regionCode and a postalCode; consent values are ConsentStatus names; an ingest carries
  termsOfService ACCEPTED, and an account in `no_terms` is refused with TERMS_AND_CONDITIONS_NOT_SIGNED (a field
  violation under INVALID_ARGUMENT: the guides show no example of this refusal, so its shape follows the quickstart's);
- requestStatus:retrieve answers SUCCESS for the requests it accepted, with recordCount, userIdentifierCount and an
  uploadMatchRateRange for an ingest (PROCESSING for ids in `processing`, PARTIAL_SUCCESS with errorInfo for ids in
  `processing_errors`), and INVALID_REQUEST_ID for an id it never gave.
It keeps each list's members as frozensets of their identifiers (a removal takes out a member with the same ones).
Injected failures: `fail_next` holds HTTP statuses to answer the next API calls with before acting (429
RESOURCE_EXHAUSTED with a per-minute quota ErrorInfo, and a RetryInfo when `retry_delay` is set; 503 UNAVAILABLE;
401 UNAUTHENTICATED, which also expires the token shown); `lose_next` the same after acting (the answer lost);
`daily_quota_spent` answers every call 429 with a per-day quota; `expire_access_tokens()` expires every token issued.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCOPE = "https://www.googleapis.com/auth/datamanager"
DOMAIN = "datamanager.googleapis.com"
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ABORTED",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}  # fmt: skip
MESSAGES = {
    400: "There was a problem with the request.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential.",
    403: "The caller does not have permission",
    429: "Quota exceeded for quota metric and limit of service 'datamanager.googleapis.com'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The request took too long to respond.",
}
_MEMBERS_FIELDS = {"destinations", "audienceMembers", "encoding", "encryptionInfo", "validateOnly"}
FIELDS = {  # the fields each request message has (ingestion_service.proto), in JSON names
    "audienceMembers:ingest": _MEMBERS_FIELDS | {"consent", "termsOfService"},
    "audienceMembers:remove": _MEMBERS_FIELDS,
    "audienceMembers:removeAll": {"destinations", "removeAsOfTime", "validateOnly"},
}
DESTINATION_FIELDS = {"reference", "loginAccount", "linkedAccount", "operatingAccount", "productDestinationId"}
MEMBER_DATA = {"userData", "pairData", "mobileData", "userIdData", "ppidData", "compositeData", "googleUserIdData", "partnerProvidedIdData"}
ADDRESS_FIELDS = {"givenName", "familyName", "regionCode", "postalCode", "addressLine", "city", "administrativeArea"}
CONSENT = {"CONSENT_STATUS_UNSPECIFIED", "CONSENT_GRANTED", "CONSENT_DENIED"}
UPLOAD_KEYS = {"CONTACT_ID", "MOBILE_ID", "USER_ID", "PAIR_ID", "PSEUDONYMOUS_ID"}
SOURCES = {"DATA_SOURCE_TYPE_FIRST_PARTY", "DATA_SOURCE_TYPE_THIRD_PARTY_CREDIT_BUREAU", "DATA_SOURCE_TYPE_THIRD_PARTY_VOTER_FILE",
           "DATA_SOURCE_TYPE_THIRD_PARTY_PARTNER_DATA"}  # fmt: skip
MAX_MEMBERSHIP_DAYS = 540
_HASH = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-fA-F]+")
Answer = tuple[int, dict[str, Any]]


class GoogleStandIn:
    def __init__(self, clients: dict[str, str], refresh_tokens: set[str], accounts: set[str],
                 managers: set[str] | None = None, expired_refresh_tokens: set[str] | None = None,
                 no_terms: set[str] | None = None, token_lifetime: int = 3599):  # fmt: skip
        self.clients, self.refresh_tokens, self.accounts = clients, refresh_tokens, accounts
        self.managers, self.expired_refresh_tokens = managers or set(), expired_refresh_tokens or set()
        self.no_terms, self.token_lifetime = no_terms or set(), token_lifetime
        self.lists: dict[str, dict[str, Any]] = {}  # list id -> {"name", "account", "members", "user_list"}
        self.requests: dict[str, dict[str, Any]] = {}  # request id -> {"kind", "destinations", "records", "identifiers", "members"}
        self.calls: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []  # (method, path, body|form|query, headers)
        self.fail_next: list[int] = []
        self.lose_next: list[int] = []
        self.retry_delay: str | None = None  # a RetryInfo retryDelay ("7s") for throttling answers
        self.daily_quota_spent = False
        self.processing: set[str] = set()
        self.processing_errors: dict[str, dict[str, int]] = {}
        self.match_rate = "MATCH_RATE_RANGE_51_TO_60"
        self._live_tokens: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def stop(self) -> None:
        self.server.shutdown()

    def members(self, list_id: str) -> set[frozenset[tuple[str, ...]]]:
        return set(self.lists[list_id]["members"])

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._live_tokens.clear()

    @staticmethod
    def member(identifiers: Sequence[Mapping[str, Any]]) -> frozenset[tuple[str, ...]]:
        """A member as a list holds it: its identifiers, each a tuple (kind, values...)."""
        held: list[tuple[str, ...]] = []
        for identifier in identifiers:
            ((kind, value),) = identifier.items()
            if kind == "address":
                held.append(("address", value["givenName"], value["familyName"], value["regionCode"], value["postalCode"]))
            else:
                held.append((kind, str(value)))
        return frozenset(held)

    def answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes) -> Answer:
        with self._lock:
            if path == "/token":
                form = dict(urllib.parse.parse_qsl(raw.decode())) if method == "POST" else {}
                self.calls.append((method, path, form, headers))
                return self._token(method, headers, form)
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                self.calls.append((method, path, {"raw": raw.decode(errors="replace")}, headers))
                return _status(400, "Invalid JSON payload received.")
            self.calls.append((method, path, body if method == "POST" else query, headers))
            if self.daily_quota_spent:
                return self._throttled(path, method, "PerDay")
            if self.fail_next:
                return self._failure(self.fail_next.pop(0), path, method, headers)
            token = headers.get("authorization", "")
            if not token.startswith("Bearer "):
                return _status(401, "Request is missing required authentication credential.", "CREDENTIALS_MISSING", "googleapis.com")
            if token[7:] not in self._live_tokens:
                return _status(401, MESSAGES[401], "ACCESS_TOKEN_EXPIRED", "googleapis.com")
            if method == "POST" and not headers.get("content-type", "").startswith("application/json"):
                return _status(400, "Invalid JSON payload received: the body must be application/json.")
            status, answer = self._route(method, path.removeprefix("/v1/"), query, headers, body)
            if status == 200 and self.lose_next and method == "POST":
                return self._failure(self.lose_next.pop(0), path, method, headers)
            return status, answer

    def _token(self, method: str, headers: dict[str, str], form: dict[str, str]) -> Answer:
        if method != "POST" or not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return 400, {"error": "invalid_request", "error_description": "Bad Request"}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type", "error_description": f"Invalid grant_type: {form.get('grant_type', '')}"}
        if form.get("client_id") not in self.clients:
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        if self.clients[form["client_id"]] != form.get("client_secret"):
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        if form.get("refresh_token") in self.expired_refresh_tokens:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        if form.get("refresh_token") not in self.refresh_tokens:
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        token = f"ya29.standin-{next(self._ids)}"
        self._live_tokens.add(token)
        return 200, {"access_token": token, "expires_in": self.token_lifetime, "scope": SCOPE, "token_type": "Bearer"}

    def _failure(self, code: int, path: str, method: str, headers: dict[str, str]) -> Answer:
        if code == 429:
            return self._throttled(path, method, "PerMinute")
        if code == 401:
            self._live_tokens.discard(headers.get("authorization", "")[7:])
            return _status(401, MESSAGES[401], "ACCESS_TOKEN_EXPIRED", "googleapis.com")
        return _status(code, MESSAGES.get(code, "failed"))

    def _throttled(self, path: str, method: str, window: str) -> Answer:
        service = "Ingestion" if path.startswith(("/v1/audienceMembers", "/v1/requestStatus")) else "Management"
        limit = f"{service}{'Mutate' if method == 'POST' else 'Read'}Requests{window}PerProject"
        info = {"reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com",
                "metadata": {"service": DOMAIN, "consumer": "projects/1", "quota_limit": limit}}  # fmt: skip
        retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": self.retry_delay} if self.retry_delay else None
        return _status(429, MESSAGES[429], extra=[_info(info), *([retry] if retry else [])])

    def _route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: dict[str, Any]) -> Answer:
        lists = re.fullmatch(r"accountTypes/([^/]+)/accounts/([^/]+)/userLists(?:/(\d+))?", path)
        if lists:
            refused = self._reach(lists[1], lists[2], _login(headers.get("login-account")))
            if refused:
                return refused
            if lists[3] is None and method == "GET":
                return self._list(lists[2], query)
            if lists[3] is None and method == "POST":
                return self._create(lists[2], body)
            if lists[3] and method == "GET":
                found = self.lists.get(lists[3])
                if found and found["account"] == lists[2]:
                    return 200, found["user_list"]
                return _status(404, "Requested entity was not found.")
        if path in FIELDS and method == "POST":
            return self._audience(path, body)
        if path == "requestStatus:retrieve" and method == "GET":
            return self._status_of(query.get("requestId", ""))
        return _status(404, f"Method not found: {method} /v1/{path}")

    def _reach(self, account_type: str, account: str, login: str | None | bool) -> Answer | None:
        """None when the credentials reach the account (through the manager they log in through, if any)."""
        if account_type != "GOOGLE_ADS" or not re.fullmatch(r"\d+", account):
            return _status(400, f"Invalid account: accountTypes/{account_type}/accounts/{account}", "INVALID_DESTINATION")
        if login is False or (login and login not in self.managers):
            return _status(403, MESSAGES[403], "PERMISSION_DENIED", DOMAIN)
        if account not in self.accounts:
            return _status(403, MESSAGES[403], "PERMISSION_DENIED", DOMAIN)
        return None

    def _list(self, account: str, query: dict[str, str]) -> Answer:
        try:
            size, start = int(query.get("pageSize") or 50), int(query.get("pageToken") or 0)
        except ValueError:
            return _status(400, "Invalid pageSize or pageToken", "INVALID_PAGE_TOKEN")
        if size < 0:
            return _status(400, "pageSize must not be negative")
        size = min(size or 50, 1000)
        owned = [ul["user_list"] for ul in self.lists.values() if ul["account"] == account]
        wanted = query.get("filter")
        if wanted:
            named = re.fullmatch(r'\s*(?:display_name|displayName)\s*=\s*"((?:[^"\\]|\\.)*)"\s*', wanted)
            if not named:
                return _status(400, f"Invalid filter: {wanted}", "INVALID_FILTER")
            name = re.sub(r"\\(.)", r"\1", named[1])
            owned = [ul for ul in owned if ul["displayName"] == name]
        page: dict[str, Any] = {"userLists": owned[start : start + size]} if owned[start : start + size] else {}
        if start + size < len(owned):
            page["nextPageToken"] = str(start + size)
        return 200, page

    def _create(self, account: str, user_list: dict[str, Any]) -> Answer:
        name = user_list.get("displayName")
        if not isinstance(name, str) or not name.strip():
            return _violation("user_list.display_name", "REQUIRED_FIELD_MISSING", "The display name is required.")
        if any(ul["account"] == account and ul["name"] == name for ul in self.lists.values()):
            return _violation("user_list.display_name", "DISPLAY_NAME_ALREADY_USED", "The display name is already used.")
        info = user_list.get("ingestedUserListInfo")
        if not isinstance(info, dict):
            return _violation("user_list.ingested_user_list_info", "REQUIRED_FIELD_MISSING", "A Customer Match list needs it.")
        keys = info.get("uploadKeyTypes")
        if not isinstance(keys, list) or len(keys) != 1 or keys[0] not in UPLOAD_KEYS:
            return _violation("user_list.ingested_user_list_info.upload_key_types", "UNSUPPORTED_USER_LIST_UPLOAD_KEY_TYPES",
                              "uploadKeyTypes must hold one upload key type.")  # fmt: skip
        source = (info.get("contactIdInfo") or {}).get("dataSourceType", "DATA_SOURCE_TYPE_FIRST_PARTY")
        if source not in SOURCES:
            return _status(400, f"Invalid value at 'user_list.ingested_user_list_info.contact_id_info.data_source_type', \"{source}\"")
        duration = user_list.get("membershipDuration")
        if duration is not None:
            days = re.fullmatch(r"(\d+)s", str(duration))
            if not days or int(days[1]) % 86400:
                return _status(400, "membershipDuration must be a whole number of days, in seconds (7776000s)")
            if int(days[1]) > MAX_MEMBERSHIP_DAYS * 86400:
                return _violation("user_list.membership_duration", "MEMBERSHIP_DURATION_TOO_LONG", "Too long.")
        list_id = str(9_000_000_000 + next(self._ids))
        made = {
            "name": f"accountTypes/GOOGLE_ADS/accounts/{account}/userLists/{list_id}",
            "id": list_id,
            "displayName": name,
            "description": user_list.get("description", ""),
            "membershipStatus": user_list.get("membershipStatus", "OPEN"),
            "accessReason": "OWNED",
            "ingestedUserListInfo": {"uploadKeyTypes": keys, "contactIdInfo": {"dataSourceType": source}},
        }
        if duration is not None:
            made["membershipDuration"] = duration
        self.lists[list_id] = {"name": name, "account": account, "members": set(), "user_list": made}
        return 200, made

    def _audience(self, method: str, body: dict[str, Any]) -> Answer:
        unknown = sorted(set(body) - FIELDS[method])
        if unknown:
            return _status(400, f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.',
                           extra=[_bad_request("", f'Invalid JSON payload received. Unknown name "{unknown[0]}"')])  # fmt: skip
        if "encryptionInfo" in body:
            return _status(400, "The stand-in takes hashed, unencrypted identifiers only")
        destinations = body.get("destinations")
        if not isinstance(destinations, list) or not destinations:
            return _violation("destinations", "REQUIRED_FIELD_MISSING", "At least one destination is required.")
        if len(destinations) > 10:
            return _violation("destinations", "TOO_MANY_DESTINATIONS", "At most 10 destinations.")
        for i, destination in enumerate(destinations):
            refused = self._destination(i, destination)
            if refused:
                return refused
        if method == "audienceMembers:ingest":
            refused = _consent("consent", body.get("consent")) or self._terms(body.get("termsOfService"), destinations)
            if refused:
                return refused
        members: list[frozenset[tuple[str, ...]]] = []
        if method != "audienceMembers:removeAll":
            found = _members(body)
            if isinstance(found, tuple):
                return found
            members = found
        if body.get("validateOnly") is True:
            return 200, {}
        for destination in destinations:
            held: set[frozenset[tuple[str, ...]]] = self.lists[destination["productDestinationId"]]["members"]
            if method == "audienceMembers:ingest":
                held.update(members)
            elif method == "audienceMembers:remove":
                held.difference_update(members)
            else:
                held.clear()
        request_id = f"{next(self._ids):08x}-standin-request"
        self.requests[request_id] = {"kind": method.partition(":")[2], "destinations": destinations, "records": len(members),
                                     "identifiers": sum(len(m) for m in members), "members": members}  # fmt: skip
        return 200, {"requestId": request_id}

    def _destination(self, i: int, destination: Any) -> Answer | None:
        field = f"destinations[{i}]"
        if not isinstance(destination, dict) or set(destination) - DESTINATION_FIELDS:
            return _violation(field, "INVALID_DESTINATION", "This Destination is not valid.")
        operating, login = destination.get("operatingAccount"), destination.get("loginAccount")
        for name, account in (("operating_account", operating), ("login_account", login)):
            if account is None and name == "login_account":
                continue
            digits = re.fullmatch(r"\d+", str(account.get("accountId", ""))) if isinstance(account, dict) else None
            if not isinstance(account, dict) or account.get("accountType") != "GOOGLE_ADS" or not digits:
                return _violation(f"{field}.{name}", "INVALID_DESTINATION", "accountType GOOGLE_ADS, accountId digits.")
        assert isinstance(operating, dict)
        refused = self._reach("GOOGLE_ADS", operating["accountId"], login["accountId"] if login else None)
        if refused:
            return refused
        target = self.lists.get(str(destination.get("productDestinationId", "")))
        if target is None or target["account"] != operating["accountId"]:
            return _violation(f"{field}.product_destination_id", "INVALID_USER_LIST_ID", "User list is not valid.")
        if target["user_list"]["ingestedUserListInfo"]["uploadKeyTypes"] != ["CONTACT_ID"]:
            return _violation(f"{field}.product_destination_id", "INVALID_USER_LIST_TYPE", "Not a contact information list.")
        return None

    def _terms(self, terms: Any, destinations: list[dict[str, Any]]) -> Answer | None:
        accepted = isinstance(terms, dict) and terms.get("customerMatchTermsOfServiceStatus") == "ACCEPTED"
        if not accepted or any(d["operatingAccount"]["accountId"] in self.no_terms for d in destinations):
            return _violation("terms_of_service", "TERMS_AND_CONDITIONS_NOT_SIGNED", "Required terms and conditions are not accepted.")
        return None

    def _status_of(self, request_id: str) -> Answer:
        if not request_id:
            return _violation("request_id", "REQUIRED_FIELD_MISSING", "requestId is required.")
        request = self.requests.get(request_id)
        if request is None:
            return _status(400, MESSAGES[400], "INVALID_REQUEST_ID", DOMAIN)
        statuses = []
        for destination in request["destinations"]:
            status: dict[str, Any] = {"destination": destination, "requestStatus": "SUCCESS"}
            counts = {"recordCount": str(request["records"]), "userIdentifierCount": str(request["identifiers"])}
            if request_id in self.processing:
                status["requestStatus"] = "PROCESSING"
            elif request_id in self.processing_errors:
                status["requestStatus"] = "PARTIAL_SUCCESS"
                errors = self.processing_errors[request_id].items()
                status["errorInfo"] = {"errorCounts": [{"recordCount": str(n), "reason": reason} for reason, n in errors]}
            if request["kind"] == "ingest":
                if status["requestStatus"] != "PROCESSING":
                    counts["uploadMatchRateRange"] = self.match_rate
                status["audienceMembersIngestionStatus"] = {"userDataIngestionStatus": counts}
            elif request["kind"] == "remove":
                status["audienceMembersRemovalStatus"] = {"userDataRemovalStatus": counts}
            else:
                status["removeAllAudienceMembersStatus"] = {}
            statuses.append(status)
        return 200, {"requestStatusPerDestination": statuses}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, body = outer.answer(method, parsed.path, dict(urllib.parse.parse_qsl(parsed.query)), headers, raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's names
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _login(header: str | None) -> str | None | bool:
    """The manager a `login-account` header names; None without one, False for one not in the documented form."""
    if header is None:
        return None
    named = re.fullmatch(r"accountTypes/GOOGLE_ADS/accounts/(\d+)", header)
    return named[1] if named else False


def _members(body: dict[str, Any]) -> list[frozenset[tuple[str, ...]]] | Answer:
    members = body.get("audienceMembers")
    if not isinstance(members, list) or not members:
        return _violation("audience_members", "REQUIRED_FIELD_MISSING", "At least one audience member is required.")
    if len(members) > 10_000:
        return _violation("audience_members", "TOO_MANY_AUDIENCE_MEMBERS", "At most 10000 audience members a request.")
    encoding = body.get("encoding")
    if encoding not in ("HEX", "BASE64"):
        return _violation("encoding", "REQUIRED_FIELD_MISSING" if encoding is None else "INVALID_ENUM_VALUE", "encoding is HEX or BASE64.")
    held = []
    for i, member in enumerate(members):
        field = f"audience_members.audience_members[{i}]"
        if not isinstance(member, dict) or set(member) - MEMBER_DATA - {"destinationReferences", "consent"}:
            return _violation(field, "INVALID_AUDIENCE_MEMBER", "This audience member is not valid.")
        if set(member) & MEMBER_DATA != {"userData"} or set(member["userData"]) != {"userIdentifiers"}:
            return _violation(field, "INVALID_AUDIENCE_MEMBER", "A contact information list takes userData.")
        refused = _consent(f"{field}.consent", member.get("consent"))
        if refused:
            return refused
        identifiers = member["userData"]["userIdentifiers"]
        if not isinstance(identifiers, list) or not identifiers:
            return _violation(f"{field}.user_data.user_identifiers", "REQUIRED_FIELD_MISSING", "At least one identifier.")
        if len(identifiers) > 10:
            return _violation(f"{field}.user_data.user_identifiers", "TOO_MANY_USER_IDENTIFIERS", "At most 10 identifiers.")
        for identifier in identifiers:
            refused = _identifier(field, identifier, encoding)
            if refused:
                return refused
        held.append(GoogleStandIn.member(identifiers))
    return held


def _identifier(field: str, identifier: Any, encoding: str) -> Answer | None:
    if not isinstance(identifier, dict) or len(identifier) != 1 or not set(identifier) <= {"emailAddress", "phoneNumber", "address"}:
        return _violation(f"{field}.user_data.user_identifiers", "INVALID_FORMAT", "Exactly one identifier must be set.")
    ((kind, value),) = identifier.items()
    if kind == "address":
        if not isinstance(value, dict) or set(value) - ADDRESS_FIELDS:
            return _violation(f"{field}.user_data.user_identifiers", "INVALID_FORMAT", "Invalid address.")
        if not re.fullmatch(r"[A-Z]{2}", str(value.get("regionCode", ""))):
            return _violation(f"{field}.user_data.user_identifiers", "INVALID_REGION_CODE", "The region code is not valid.")
        if not str(value.get("postalCode", "")).strip():
            return _violation(f"{field}.user_data.user_identifiers", "REQUIRED_FIELD_MISSING", "Postal code is required.")
        hashed = [("Given name", value.get("givenName")), ("Family name", value.get("familyName"))]
    else:
        hashed = [({"emailAddress": "Email", "phoneNumber": "Phone number"}[kind], value)]
    for label, text in hashed:
        if not isinstance(text, str) or not text:
            return _violation(f"{field}.user_data.user_identifiers", "REQUIRED_FIELD_MISSING", f"{label} is required.")
        if encoding == "HEX":
            if not _HEX.fullmatch(text):
                return _violation(f"{field}.user_data.user_identifiers", "INVALID_HEX_ENCODING", f"{label} is not hex encoded.")
            if not _HASH.fullmatch(text):
                return _violation(field, "INVALID_SHA256_FORMAT")
        else:
            try:
                digest = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                return _violation(f"{field}.user_data.user_identifiers", "INVALID_BASE64_ENCODING", f"{label} is not base64 encoded.")
            if len(digest) != 32:
                return _violation(field, "INVALID_SHA256_FORMAT")
    return None


def _consent(field: str, consent: Any) -> Answer | None:
    if consent is None:
        return None
    if not isinstance(consent, dict) or set(consent) - {"adUserData", "adPersonalization"}:
        return _status(400, f"Invalid JSON payload received. Unknown name in '{field}'")
    for name, value in consent.items():
        if value not in CONSENT:
            snake = "ad_user_data" if name == "adUserData" else "ad_personalization"
            return _status(400, f"Invalid value at '{field}.{snake}' (type.googleapis.com/google.ads.datamanager.v1.ConsentStatus), \"{value}\"",
                           extra=[_bad_request(f"{field}.{snake}", f'Invalid value "{value}"')])  # fmt: skip
    return None


def _info(info: dict[str, Any]) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", **info}


def _bad_request(field: str, description: str, reason: str | None = None) -> dict[str, Any]:
    violation = {"field": field, "description": description}
    if reason:
        violation["reason"] = reason
    if not description:
        del violation["description"]
    return {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}


def _violation(field: str, reason: str, description: str = "") -> Answer:
    """A field refused as the quickstart shows: an INVALID_ARGUMENT ErrorInfo, then the field violation's reason."""
    return _status(400, MESSAGES[400], "INVALID_ARGUMENT", DOMAIN, extra=[_bad_request(field, description, reason)])


def _status(code: int, message: str, reason: str | None = None, domain: str = DOMAIN, extra: list[dict[str, Any]] | None = None) -> Answer:
    details = ([_info({"reason": reason, "domain": domain})] if reason else []) + (extra or [])
    error: dict[str, Any] = {"code": code, "message": message, "status": STATUS.get(code, "UNKNOWN")}
    if details:
        error["details"] = details
    return code, {"error": error}
