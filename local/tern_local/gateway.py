"""API Gateway and CloudFront in front of the api function, as `tern serve` answers HTTP: a path the distribution
sends to the API becomes the proxy event API Gateway would send (X-Tern-Org as the Cognito claim), every other
path a file of the console; every answer carries the distribution's security headers."""

from __future__ import annotations

import base64
import contextlib
import json
import traceback
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tern_local.deployment import ACCOUNT

if TYPE_CHECKING:
    from tern_local.stack import LocalStack


def handler_for(stack: LocalStack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "tern-local"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            if not stack.console.is_api(url.path):
                return self._console(self.command, url.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else None
            public = stack.is_public(url.path)  # a path the template serves with no authorizer: no claims, whatever was sent
            org = None if public else self.headers.get("X-Tern-Org")
            event = api_gateway_event(
                self.command, url.path, parse_qsl(url.query, keep_blank_values=True), dict(self.headers), body, org, public
            )
            try:
                response = stack.invoke(stack.api, "ApiFunction", event)
            except Exception:  # noqa: BLE001 - the function failed: API Gateway answers 502, the log has why
                traceback.print_exc()
                response = {
                    "statusCode": 502,
                    "headers": {"Content-Type": "application/json"},
                    "body": '{"message": "Internal server error"}',
                }
            payload = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else (response.get("body") or "").encode()
            self.send_response(int(response["statusCode"]))
            # API Gateway merges a proxy response's two header maps; for a name in both, multiValueHeaders' values win
            multi = response.get("multiValueHeaders") or {}
            named = {name.lower() for name in multi}
            headers = [(name, str(value)) for name, value in (response.get("headers") or {}).items() if name.lower() not in named]
            headers += [(name, str(value)) for name, values in multi.items() for value in values]
            for name, value in stack.console.with_security_headers(headers):
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self._send(payload)

        def _send(self, body: bytes) -> None:
            # the client may have gone first: the console cancels a count it no longer needs (AbortController)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def _console(self, method: str, path: str) -> None:
            """What CloudFront's default behaviour answers: the console's files."""
            answer = stack.console.answer(method, path)
            self.send_response(answer.status)
            for name, value in stack.console.with_security_headers(
                [("Content-Type", answer.content_type), ("Cache-Control", answer.cache)]
            ):
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self._send(answer.body)

        def __getattr__(self, name: str) -> Any:
            # The API's one route is ANY /{proxy+}: every method reaches the function, which answers 405 for the
            # ones a path has no route for (do_GET, do_POST, ... do_QUERY: http.server looks each up by name)
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """A request API Gateway would refuse before the function (an unknown method, a bad request line)."""
            payload = json.dumps({"message": message or HTTPStatus(code).phrase}).encode()
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200:
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def api_gateway_event(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: str | None,
    org: str | None,
    public: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as AWS sends it behind the Cognito authorizer (`public`: a route with no
    authorizer, whose requestContext has none): every value of a repeated query parameter in
    multiValueQueryStringParameters, the last in queryStringParameters, blanks kept."""
    values: dict[str, list[str]] = {}
    for name, value in query:
        values.setdefault(name, []).append(value)
    claims = {"sub": "local-user", "cognito:username": "local", "token_use": "id"}
    if org:
        claims["custom:org_id"] = org
    return {
        "resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in values.items()} or None,
        "multiValueQueryStringParameters": values or None,
        "pathParameters": {"proxy": path.lstrip("/")}, "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}", "httpMethod": method, "path": f"/v1{path}", "stage": "v1",
            "accountId": ACCOUNT, "requestId": str(uuid.uuid4()), "apiId": "local",
            "identity": {"sourceIp": "127.0.0.1"}, **({} if public else {"authorizer": {"claims": claims}}),
        },
        "body": body, "isBase64Encoded": False,
    }  # fmt: skip
