"""A stand-in for Meta's Graph API (customer-file custom audiences) on 127.0.0.1, for tests only: it accepts exactly the
requests Meta documents and answers in its shapes, so a client that passes here speaks Meta's contract.

What it checks (Marketing API, "Custom Audiences" guide; `/{audience}/users` and `/usersreplace` references):
- every call carries a known `access_token` (an expired one: 400, OAuthException code 190, subcode 463);
- `act_<digits>` accounts; a new audience has `name`, subtype CUSTOM and a documented customer_file_source;
- `payload` is JSON {"schema", "data"}: schema keys among Meta's, every row as long as the schema, at most 10,000
  rows, each hashed value 64 lowercase hex characters or "" (else code 100, naming the row);
- `session` is JSON with an integer session_id, batch_seq 1, 2, ... in order per session (a batch repeated is
  accepted again and counted once), and last_batch_flag;
- `method=DELETE` on /users removes (Graph's method override).
Injected failures: `fail_next` holds error codes to answer the next calls with (17, 80003: throttling).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCHEMA_KEYS = {"EXTERN_ID", "EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD", "LN", "FN", "FI", "CT", "ST", "ZIP", "MADID", "COUNTRY"}
UNHASHED = {"EXTERN_ID", "MADID"}
SOURCES = {"USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"}
_HASH = re.compile(r"[0-9a-f]{64}")
MESSAGES = {
    17: "User request limit reached",
    80003: "There have been too many calls to this ad-account. Wait a bit and try again.",
    190: "Error validating access token: Session has expired.",
}


class GraphStandIn:
    def __init__(self, tokens: set[str], expired: set[str] | None = None, accounts: set[str] | None = None):
        self.tokens, self.expired, self.accounts = tokens, expired or set(), accounts or set()
        self.audiences: dict[str, dict[str, Any]] = {}
        self.members: dict[str, set[tuple[str, ...]]] = defaultdict(set)  # audience -> rows it holds
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # (method, path, fields) of every call
        self.statuses: list[int] = []  # the status each of them was answered with
        self.fail_next: list[int] = []
        self._sessions: dict[int, int] = {}  # session_id -> last batch_seq seen
        self._replacing: dict[int, set[tuple[str, ...]]] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()

    def answer(self, method: str, path: str, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            status, body = self._answer(method, path, fields)
            self.statuses.append(status)
            return status, body

    def accepted(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The calls answered 200."""
        return [call for call, status in zip(self.calls, self.statuses, strict=True) if status == 200]

    def _answer(self, method: str, path: str, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.calls.append((method, path, fields))
        if self.fail_next:
            code = self.fail_next.pop(0)
            return 400, _error(code, MESSAGES.get(code, "failed"), transient=True)
        token = fields.get("access_token", "")
        if token in self.expired:
            return 400, _error(190, MESSAGES[190], subcode=463)
        if token not in self.tokens:
            return 400, _error(190, "Invalid OAuth access token - Cannot parse access token", subcode=None)
        version, _, rest = path.strip("/").partition("/")
        if not re.fullmatch(r"v\d+\.\d+", version):
            return 400, _error(100, f"Unknown path components: /{version}")
        return self._route(method, rest, fields)

    def _route(self, method: str, path: str, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        account = re.fullmatch(r"act_(\d+)(/customaudiences)?", path)
        if account:
            if account[1] not in self.accounts:
                return 400, _error(100, f"Unsupported get request. Object with ID 'act_{account[1]}' does not exist", subcode=33)
            if account[2] is None and method == "GET":
                return 200, {"id": f"act_{account[1]}", "name": "Tern test account", "account_status": 1}
            if account[2] and method == "POST":
                if not fields.get("name") or fields.get("subtype") != "CUSTOM" or fields.get("customer_file_source") not in SOURCES:
                    return 400, _error(100, "(#100) Invalid parameter: name, subtype CUSTOM and customer_file_source are required")
                audience_id = str(23850000000000000 + len(self.audiences))
                self.audiences[audience_id] = {"account": account[1], **{k: v for k, v in fields.items() if k != "access_token"}}
                return 200, {"id": audience_id}
        users = re.fullmatch(r"(\d+)/(users|usersreplace)", path)
        if users and users[1] in self.audiences and method == "POST":
            return self._users(users[1], users[2] == "usersreplace", fields.get("method", "POST").upper() == "DELETE", fields)
        return 400, _error(100, f"Unsupported {method.lower()} request: /{path}")

    def _users(self, audience: str, replace: bool, remove: bool, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            payload, session = json.loads(fields["payload"]), json.loads(fields["session"])
        except (KeyError, ValueError):
            return 400, _error(100, "(#100) payload and session must be JSON")
        schema, data = payload.get("schema"), payload.get("data")
        if not isinstance(schema, list) or not set(schema) <= SCHEMA_KEYS or not isinstance(data, list):
            return 400, _error(100, f"(#100) Invalid schema: {schema}")
        if len(data) > 10_000:
            return 400, _error(100, "(#100) A request can hold at most 10000 users")
        for i, row in enumerate(data):
            if len(row) != len(schema) or any(
                v and k not in UNHASHED and not _HASH.fullmatch(v) for k, v in zip(schema, row, strict=False)
            ):
                return 400, _error(100, f"(#100) Data row {i} is not hashed as the schema says")
        seq, session_id = session.get("batch_seq"), session.get("session_id")
        if not isinstance(session_id, int) or not isinstance(seq, int) or seq < 1:
            return 400, _error(100, "(#100) session_id and batch_seq are required")
        last = self._sessions.get(session_id, 0)
        if seq > last + 1:
            return 400, _error(2650, "Batch sequence out of order", subcode=1870147)
        self._sessions[session_id] = max(last, seq)
        rows = {tuple(row) for row in data}
        if replace:
            self._replacing.setdefault(session_id, set()).update(rows)
            if session.get("last_batch_flag"):
                self.members[audience] = self._replacing.pop(session_id)
        elif remove:
            self.members[audience] -= rows
        else:
            self.members[audience] |= rows
        key = "account_id" if replace else "audience_id"
        return 200, {
            key: audience,
            "session_id": session_id,
            "num_received": len(data),
            "num_invalid_entries": 0,
            "invalid_entry_samples": {},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                fields = dict(urllib.parse.parse_qsl(parsed.query))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    fields.update(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                status, body = outer.answer(method, parsed.path, fields)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
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


def _error(code: int, message: str, subcode: int | None = None, transient: bool = False) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    return {"error": error}
