"""Meta's customer-file custom audiences, through the Graph API (Marketing API, "Custom Audiences" guide and the
`/{audience}/users` and `/{audience}/usersreplace` references): the client tern.audiences syncs through.

- A connected account is checked with `GET /act_{id}?fields=name,account_status` (the token and the ad account).
- An audience is made with `POST /act_{id}/customaudiences` (subtype CUSTOM, customer_file_source
  USER_PROVIDED_ONLY: the org's own customers).
- Members are added with `POST /{audience}/users`, removed with the same call and `method=DELETE` (Graph's method
  override: a body of 10,000 hashed rows does not fit a DELETE's query string), and replaced whole with
  `POST /{audience}/usersreplace`. Each call carries `payload` {"schema", "data"} (tern.exports.matching's rows)
  and `session` {session_id, batch_seq from 1, last_batch_flag, estimated_num_total}, at most 10,000 rows a call.
- Errors come as {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}. The throttling codes (4,
  17, 32, 613, 80003, 80004), HTTP 429 and 5xx answers are retried with exponential backoff and jitter, the same batch again
  (a session's batch_seq is what makes a repeat harmless); anything else ends the call with MetaRefused, whose
  reason says in words what Meta refused (an expired token, a field, a permission).
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tern import __version__
from tern.errors import TernError
from tern.exports.matching import META_SCHEMA

GRAPH = "https://graph.facebook.com"
VERSION = "v25.0"
BATCH_ROWS = 10_000  # Meta's limit per call
THROTTLED = frozenset({4, 17, 32, 613, 80003, 80004})  # application, user, page, method and ad account rate limits


class MetaRefused(TernError):
    """Meta refused a call for good (retrying the same would not help)."""

    def __init__(self, reason: str, code: int | None = None, subcode: int | None = None, transient: bool = False):
        super().__init__(reason)
        self.code, self.subcode = code, subcode
        self.transient = transient  # Meta was unreachable or kept throttling: the same call may pass later


def _reason(status: int, error: dict[str, Any]) -> str:
    code, message = error.get("code"), str(error.get("message") or "")
    if code == 190:
        return f"Meta refused the access token: it has expired or was revoked; give the account new credentials ({message})"
    if code in (10, 200, 294) or (isinstance(code, int) and 200 <= code < 300):
        return f"Meta refused: the token may not manage this ad account's audiences ({message})"
    if code == 100:
        return f"Meta refused a field of the request: {message}"
    if code in THROTTLED:
        return f"Meta kept refusing for too many calls ({message})"
    return f"Meta answered {status}: {message or 'no reason given'}"


Op = Literal["add", "remove", "replace"]


@dataclass(frozen=True)
class Session:
    """A batch's place in its session: Meta applies a replace when the batch with last_batch_flag arrives."""

    session_id: int
    batch_seq: int  # from 1
    last: bool
    total: int  # the rows of the whole session, as estimated

    def fields(self) -> dict[str, object]:
        return {"session_id": self.session_id, "batch_seq": self.batch_seq, "last_batch_flag": self.last, "estimated_num_total": self.total}


@dataclass(frozen=True)
class Sent:
    """What an upload handed over: its calls, and the rows Meta received and found invalid."""

    calls: int
    received: int
    invalid: int
    attempts: int


@dataclass
class MetaAudiences:
    token: str
    ad_account: str  # the ad account's number, without `act_`
    base_url: str = GRAPH
    version: str = VERSION
    timeout_seconds: float = 30
    max_attempts: int = 5
    first_delay: float = 2.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = field(default=random.random)
    session_ids: Callable[[], int] = field(default=lambda: random.getrandbits(62) + 1)

    def account(self) -> dict[str, Any]:
        """The ad account's name and status: what connecting checks (MetaRefused naming what Meta refused)."""
        return self._call("GET", f"act_{self.ad_account}", {"fields": "name,account_status"})[0]

    def create(self, name: str, description: str = "") -> str:
        """A new customer-file audience of the org's own customers; its id."""
        fields = {"name": name, "subtype": "CUSTOM", "customer_file_source": "USER_PROVIDED_ONLY", "description": description}
        return str(self._call("POST", f"act_{self.ad_account}/customaudiences", fields)[0]["id"])

    def add(self, audience_id: str, rows: list[list[str]]) -> Sent:
        return self._upload(audience_id, "add", rows)

    def remove(self, audience_id: str, rows: list[list[str]]) -> Sent:
        return self._upload(audience_id, "remove", rows)

    def replace(self, audience_id: str, rows: list[list[str]]) -> Sent:
        """The audience made exactly `rows` (one replace session; Meta applies it when the last batch arrives)."""
        return self._upload(audience_id, "replace", rows)

    def send(self, audience_id: str, op: Op, rows: list[list[str]], session: Session) -> Sent:
        """One batch of a session: `add` and `remove` through /users (a removal as `method=DELETE`), `replace` through
        /usersreplace. A session resumed after a crash carries on with its id and the next batch_seq."""
        if len(rows) > BATCH_ROWS:
            raise ValueError(f"{len(rows)} rows in one call: Meta takes at most {BATCH_ROWS}")
        path = f"{audience_id}/usersreplace" if op == "replace" else f"{audience_id}/users"
        fields = {"payload": json.dumps({"schema": META_SCHEMA, "data": rows}), "session": json.dumps(session.fields())}
        if op == "remove":
            fields["method"] = "DELETE"
        answer, tries = self._call("POST", path, fields)
        return Sent(1, int(answer.get("num_received", 0)), int(answer.get("num_invalid_entries", 0)), tries)

    def _upload(self, audience_id: str, op: Op, rows: list[list[str]]) -> Sent:
        session_id = self.session_ids()
        batches = [rows[i : i + BATCH_ROWS] for i in range(0, len(rows), BATCH_ROWS)] or [[]]
        received = invalid = attempts = 0
        for seq, batch in enumerate(batches, start=1):
            sent = self.send(audience_id, op, batch, Session(session_id, seq, seq == len(batches), len(rows)))
            received, invalid, attempts = received + sent.received, invalid + sent.invalid, attempts + sent.attempts
        return Sent(len(batches), received, invalid, attempts)

    def _call(self, method: str, path: str, fields: dict[str, str]) -> tuple[dict[str, Any], int]:
        """One Graph call, retried while Meta throttles or fails on its side; its answer and the attempts it took."""
        url = f"{self.base_url}/{self.version}/{path}"
        form = urllib.parse.urlencode({**fields, "access_token": self.token})
        delay, reason = self.first_delay, ""
        for attempt in range(1, self.max_attempts + 1):
            if method == "GET":
                request = urllib.request.Request(f"{url}?{form}", method="GET")
            else:
                request = urllib.request.Request(url, data=form.encode(), method=method,
                                                 headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
            request.add_header("User-Agent", f"tern/{__version__}")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310 - https to Meta (a stand-in in tests)
                    return json.loads(response.read() or b"{}"), attempt
            except urllib.error.HTTPError as e:
                try:
                    error = json.loads(e.read() or b"{}").get("error") or {}
                except ValueError:
                    error = {}
                reason = _reason(e.code, error)
                if error.get("code") not in THROTTLED and e.code != 429 and e.code < 500:  # a bare 429 too: too many calls
                    raise MetaRefused(reason, error.get("code"), error.get("error_subcode")) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                reason = f"cannot reach Meta: {getattr(e, 'reason', e)}"
            if attempt < self.max_attempts:
                self.sleep(delay * (0.5 + self.jitter()))
                delay = min(delay * 2, self.max_delay)
        raise MetaRefused(f"{reason} ({self.max_attempts} attempts)", transient=True)
