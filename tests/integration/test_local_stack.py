"""`tern serve` as a user runs it: template.yaml in moto on 127.0.0.1, the admin API over real HTTP."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tern_local.generator import generate

HOT = {"name": "Warsaw", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    lake: Path = tmp_path_factory.mktemp("stack-lake")
    for org, seed in (("acme", 1), ("globex", 2)):
        generate(lake, contacts=500, events_per_contact=5, days=20, org=org, seed=seed)
    port, aws_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tern_local.cli", "serve", "--data", str(lake), "--port", str(port), "--aws-port", str(aws_port), "--time-scale", "3600"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    started = time.monotonic()
    lines = []
    while time.monotonic() - started < 120:
        line = process.stdout.readline()
        lines.append(line)
        if line.startswith("Lake:") or not line:
            break
    assert any(line.startswith(f"Tern console:    http://127.0.0.1:{port}/") for line in lines), "".join(lines)
    yield {"url": f"http://127.0.0.1:{port}", "aws": f"http://127.0.0.1:{aws_port}", "process": process}
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def http(stack: dict[str, Any], method: str, path: str, body: Any = None, org: str | None = "acme") -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(stack["url"] + path, data=data, method=method, headers={"Content-Type": "application/json"})
    if org:
        request.add_header("X-Tern-Org", org)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_the_stack_is_deployed_from_the_template(stack: dict[str, Any]) -> None:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=stack["aws"], region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x")

    assert client("dynamodb").list_tables()["TableNames"] == ["tern-tern-table-local"]
    buckets = {b["Name"] for b in client("s3").list_buckets()["Buckets"]}
    assert buckets == {"tern-lake-bucket-local", "tern-results-bucket-local", "tern-console-bucket-local"}
    assert {t["Name"] for t in client("glue").get_tables(DatabaseName="tern_local")["TableList"]} == {"contacts", "events", "lists", "memberships", "overlay"}
    assert [g["Name"] for g in client("scheduler").list_schedule_groups()["ScheduleGroups"] if g["Name"] != "default"] == ["tern-local"]


def test_a_live_segment_refreshes_on_its_schedule(stack: dict[str, Any]) -> None:
    status, created = http(stack, "POST", "/segments", {**HOT, "refresh": {"every": 1, "unit": "hours"}})
    assert status == 201
    sid = created["id"]
    assert http(stack, "POST", f"/segments/{sid}/go-live")[1]["status"] == "live"
    deadline = time.monotonic() + 30
    history: list[Any] = []
    while time.monotonic() < deadline and len(history) < 2:  # an hour of stack time is a second here
        time.sleep(0.5)
        history = http(stack, "GET", f"/segments/{sid}/history")[1]["history"]
    assert len(history) >= 2
    assert history[-1]["joined"] == history[-1]["members"] > 0
    assert history[0]["joined"] == history[0]["left"] == 0  # nothing changed in the lake since
    members = http(stack, "GET", f"/segments/{sid}/members?limit=1000")[1]["members"]
    assert len(members) == history[0]["members"]
    assert http(stack, "POST", f"/segments/{sid}/archive")[1]["status"] == "archived"


def test_orgs_are_isolated_and_the_org_is_required(stack: dict[str, Any]) -> None:
    sid = http(stack, "POST", "/segments", HOT)[1]["id"]
    assert http(stack, "GET", f"/segments/{sid}", org="globex")[0] == 404
    assert http(stack, "POST", f"/segments/{sid}/go-live", org="globex")[0] == 404
    assert http(stack, "GET", "/segments", org=None)[0] == 403
    assert sid not in [s["id"] for s in http(stack, "GET", "/segments", org="globex")[1]["segments"]]


def test_bad_input_is_a_400_naming_the_field(stack: dict[str, Any]) -> None:
    status, answer = http(stack, "POST", "/segments/preview", {"name": "x", "where": {"all": [{"kind": "age", "min": "old"}]}})
    assert status == 400 and answer["problems"][0]["path"] == "where.all[0].min"


def test_ctrl_c_stops_the_stack(stack: dict[str, Any]) -> None:
    process = stack["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert "stopping" in process.stdout.read()
