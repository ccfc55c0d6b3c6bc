"""The local AWS answers every wire protocol the AWS SDKs speak for the services it serves.

AWS moves services between protocols (Athena went from JSON 1.1, `POST /` with `X-Amz-Target`, to rest-json,
`POST /query-executions` and so on, in botocore 1.44.14), and SDKs from both sides of a move stay in use for
years: the AWS CLI a user installed last year speaks the old protocol, boto3 from this week the new one. moto
routes a request by the protocols its installed botocore models, so only one side works. For each service
that moved, this module puts a bridge in front of moto's handlers (in server mode and under `mock_aws` alike):

- a request in the protocol the installed model speaks goes through as it is (the moved service's paths are
  added to moto's URL map, which knew only the old protocol's `/`);
- a request in the old protocol is rewritten into the new one by botocore's own serializer for the operation
  (its URI labels, query string and body from the old request's members), handled, and its answer rewritten
  back: members the new protocol carries in headers return to the body, an error keeps its `__type`.

A service that moves next is one more `Moved` in MOVED (its moto module and the protocol it left); the test in
tests/integration/test_aws_protocols.py drives every moved service with both protocols.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.serialize import create_serializer


@dataclass(frozen=True)
class Moved:
    """A service the SDKs speak two protocols to: the installed botocore's, and the one it left."""

    service: str  # botocore's name for it
    moto_module: str  # moto's package for the service: its urls module and its responses class
    response_class: str
    left: str  # the protocol older SDKs speak
    target_prefix: str  # the JSON protocol's X-Amz-Target prefix for the service


MOVED = (Moved("athena", "moto.athena", "AthenaResponse", left="json", target_prefix="AmazonAthena"),)

_JSON_1_1 = "application/x-amz-json-1.1"


def installed_protocol(service: str) -> str:
    return str(botocore.session.get_session().get_service_model(service).metadata["protocol"])


def bridge_all() -> None:
    """Put a bridge in front of each moved service's moto handlers (idempotent)."""
    for moved in MOVED:
        _bridge(moved)


def _bridge(moved: Moved) -> None:
    urls = importlib.import_module(f"{moved.moto_module}.urls")
    if getattr(urls, "__bridged_by_tern__", False):
        return
    protocol = installed_protocol(moved.service)
    if protocol == moved.left:
        return  # this botocore predates the move: moto already speaks what it models, and old SDKs speak it too
    if (moved.left, protocol) != ("json", "rest-json"):
        raise NotImplementedError(f"{moved.service}: no bridge from {moved.left} to {protocol} yet (tern_local.protocols)")
    responses = importlib.import_module(f"{moved.moto_module}.responses")
    dispatch = getattr(responses, moved.response_class).dispatch
    model = botocore.session.get_session().get_service_model(moved.service)

    def bridged(request: Any, full_url: str, headers: Any) -> Any:
        target = request.headers.get("X-Amz-Target", "")
        if not target.startswith(f"{moved.target_prefix}."):
            return dispatch(request, full_url, headers)  # the installed protocol: moto routes it by the model
        return _from_json_1_1(dispatch, model, request, target.split(".", 1)[1])

    # the old protocol's `/` and every path of the new one, to the bridge
    urls.url_paths = {"{0}/$": bridged, "{0}/(?P<path>.+)$": bridged}  # type: ignore[attr-defined]
    urls.__bridged_by_tern__ = True  # type: ignore[attr-defined]


def _from_json_1_1(dispatch: Callable[..., Any], model: Any, request: Any, operation: str) -> Any:
    """A JSON 1.1 request answered by the rest-json handler, in JSON 1.1 both ways."""
    from moto.core.request import Request

    try:
        op = model.operation_model(operation)
    except Exception:  # noqa: BLE001 - botocore's OperationNotFoundError: answered as AWS answers an unknown target
        return (
            400,
            {"Content-Type": _JSON_1_1},
            json.dumps({"__type": "UnknownOperationException", "message": f"Unknown operation {operation}"}),
        )
    try:
        params = json.loads(request.get_data() or b"{}")
    except ValueError:
        return 400, {"Content-Type": _JSON_1_1}, json.dumps({"__type": "SerializationException", "message": "the body is not JSON"})
    rest = create_serializer("rest-json", include_validation=False).serialize_to_request(params, op)
    query = "&".join(f"{k}={v}" for k, v in _query_pairs(rest["query_string"]))
    body = rest["body"] if isinstance(rest["body"], bytes) else str(rest["body"] or "").encode()
    passed = {k: v for k, v in request.headers.items() if k.lower() not in ("x-amz-target", "content-type", "content-length")}
    url = f"{request.host_url.rstrip('/')}{rest['url_path']}" + (f"?{query}" if query else "")
    translated = Request.from_primitives(rest["method"], url, {**passed, **rest["headers"], "Content-Type": "application/json"}, body)
    translated.from_wsgi_server = request.from_wsgi_server
    answer = dispatch(translated, translated.raw_url, translated.headers)
    status, headers, text = _status_headers_body(answer)
    if status < 400 and op.output_shape is not None:
        text = _body_with_header_members(op.output_shape, headers, text)
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    headers["Content-Type"] = _JSON_1_1
    return status, headers, text


def _query_pairs(query: dict[str, Any]) -> list[tuple[str, str]]:
    from urllib.parse import quote

    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((quote(str(key), safe=""), quote(str(one), safe="")))
    return pairs


def _status_headers_body(answer: Any) -> tuple[int, dict[str, Any], str]:
    if isinstance(answer, str):
        return 200, {}, answer
    status, headers, body = answer
    text = body.decode() if isinstance(body, bytes) else str(body or "")
    return int(status), dict(headers), text


def _body_with_header_members(shape: Any, headers: dict[str, Any], text: str) -> str:
    """Members the rest-json answer carried in headers, back in the JSON 1.1 body where old SDKs read them."""
    lowered = {k.lower(): v for k, v in headers.items()}
    moved = {name: lowered[member.serialization.get("name", name).lower()] for name, member in shape.members.items()
             if member.serialization.get("location") == "header" and member.serialization.get("name", name).lower() in lowered}  # fmt: skip
    if not moved:
        return text
    body = json.loads(text) if text else {}
    return json.dumps({**body, **moved})
