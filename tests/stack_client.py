"""Talking to a local stack started in the test process: start/stop with the environment restored, HTTP calls."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tern_local.demo_stack import free_port
from tern_local.stack import LocalStack


@contextmanager
def local_stack(lake: Path, time_scale: float = 1.0) -> Iterator[LocalStack]:
    environment = dict(os.environ)
    stack = LocalStack(lake, port=free_port(), aws_port=free_port(), time_scale=time_scale, log_level="WARNING")
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()  # the stack pointed boto3 in this process at moto's server: undo that
        os.environ.update(environment)


def http(stack: LocalStack, method: str, path: str, body: Any = None, org: str | None = "acme", raw: str | None = None) -> tuple[int, Any]:
    data = raw.encode() if raw is not None else json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.port}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    if org:
        request.add_header("X-Tern-Org", org)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def ok(stack: LocalStack, method: str, path: str, body: Any = None, org: str = "acme", raw: str | None = None) -> Any:
    status, answer = http(stack, method, path, body, org, raw)
    assert 200 <= status < 300, (method, path, status, answer)
    return answer


def live(stack: LocalStack, body: dict[str, Any], org: str = "acme") -> dict[str, Any]:
    """Create, go live, and wait for the schedule's first evaluation."""
    created = ok(stack, "POST", "/segments", body, org=org)
    ok(stack, "POST", f"/segments/{created['id']}/go-live", org=org)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        segment = ok(stack, "GET", f"/segments/{created['id']}", org=org)
        if segment["latest"]:
            return dict(segment)
        time.sleep(0.1)
    raise AssertionError("the schedule did not evaluate the segment")


def all_members(stack: LocalStack, sid: str, org: str = "acme") -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        path = f"/segments/{sid}/members?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        page = ok(stack, "GET", path, org=org)
        ids += [m["contact_id"] for m in page["members"]]
        cursor = page["cursor"]
        if not cursor:
            return ids


def evaluate(stack: LocalStack, segment_id: str, org: str = "acme", timeout: float = 60) -> dict[str, Any]:
    """POST .../evaluate (202) and poll the evaluation until it ends; its final status."""
    started = ok(stack, "POST", f"/segments/{segment_id}/evaluate", org=org)
    assert started["status"] == "running", started

    def ended() -> Any:
        status = ok(stack, "GET", started["poll"], org=org)
        return status if status["status"] != "running" else None

    return dict(wait_for(ended, timeout=timeout, every=0.1, what=f"evaluation {started['evaluation_id']}"))


def wait_for(condition: Any, timeout: float = 60, every: float = 0.2, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def lake_contacts(stack: LocalStack, org: str = "acme") -> dict[str, dict[str, Any]]:
    """The stack's contacts data as the customer wrote it, by contact id."""
    import pyarrow.dataset as ds

    rows = ds.dataset(stack.data / "contacts" / f"org_id={org}", format="parquet").to_table().to_pylist()
    return {r["contact_id"]: r for r in rows}


def ses_sent() -> list[Any]:
    """Every e-mail moto's SES accepted, in order."""
    from moto.ses.models import ses_backends

    from tern_local.stack import ACCOUNT, REGION

    return list(ses_backends[ACCOUNT][REGION].sent_messages)
