"""`tern serve` as a user runs it: template.yaml in moto on 127.0.0.1, the admin API over real HTTP."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tern_local.generator import generate
from tern_local.stack import LocalStack

HOT = {"name": "Warsaw", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
        return True
    return False


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """What a command a script starts in the background (`make test &`) inherits, and passes on: SIGINT ignored.
    Python then installs no KeyboardInterrupt of its own, and `tern serve` outlived every Ctrl-C."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Serving:
    """`tern serve` in a process of its own, started with SIGINT ignored, its output read as it comes: a pipe nobody
    reads fills with the functions' logs (64 KiB), and then every thread that logs waits on it, the stop too."""

    def __init__(self, lake: Path, port: int, aws_port: int):
        command = [
            sys.executable, "-m", "tern_local.cli", "serve", "--data", str(lake), "--port", str(port), "--aws-port", str(aws_port),
            "--time-scale", "600",  # an hour in 6 s: a refresh's 6-hour evaluation limit (36 s) holds on a loaded machine
        ]  # fmt: skip
        with sigint_ignored():
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith("Lake:"):
                self.ready.set()
        self.ready.set()  # it ended before it was ready

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, number: int = signal.SIGINT) -> tuple[int, str]:
        """Send the signal; the exit code and everything it wrote. The waits are generous: a busy machine is slow."""
        self.process.send_signal(number)
        try:
            code = self.process.wait(timeout=120)
        finally:
            self.kill()
        self._reader.join(timeout=30)
        return code, self.output()

    def kill(self) -> None:
        """No stack outlives its test, holding its ports and a core."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root: Path = tmp_path_factory.mktemp("stack-lake")
    for org, seed in (("acme", 1), ("globex", 2)):
        generate(root, contacts=500, events_per_contact=5, days=20, org=org, seed=seed)
    return root


@pytest.fixture(scope="module")
def stack(lake: Path) -> Iterator[dict[str, Any]]:
    port, aws_port = free_port(), free_port()
    serving = Serving(lake, port, aws_port)
    try:
        serving.ready.wait(timeout=120)
        assert any(line.startswith(f"Tern console:    http://127.0.0.1:{port}/") for line in serving.lines), serving.output()
        yield {
            "url": f"http://127.0.0.1:{port}", "aws": f"http://127.0.0.1:{aws_port}", "port": port, "aws_port": aws_port,
            "serving": serving,
        }  # fmt: skip
    finally:
        serving.kill()


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
        return boto3.client(
            service, endpoint_url=stack["aws"], region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x"
        )

    assert client("dynamodb").list_tables()["TableNames"] == ["tern-tern-table-local"]
    buckets = {b["Name"] for b in client("s3").list_buckets()["Buckets"]}
    assert buckets == {"tern-lake-bucket-local", "tern-results-bucket-local", "tern-console-bucket-local", "tern-logs-bucket-local"}
    assert {t["Name"] for t in client("glue").get_tables(DatabaseName="tern_local")["TableList"]} == {
        "contacts",
        "events",
        "lists",
        "memberships",
        "overlay",
    }
    assert [g["Name"] for g in client("scheduler").list_schedule_groups()["ScheduleGroups"] if g["Name"] != "default"] == ["tern-local"]


def test_every_answer_carries_the_distributions_security_headers(stack: dict[str, Any]) -> None:
    """What CloudFront's response headers policy adds: the console's files and the API's answers alike; a page that
    sends its own, stricter Content-Security-Policy (a recipient's preference page) keeps it."""

    def headers(path: str, org: str | None = "acme") -> Any:
        request = urllib.request.Request(stack["url"] + path, headers={"X-Tern-Org": org} if org else {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.headers
        except urllib.error.HTTPError as e:
            return e.headers

    for path, org in (("/", "acme"), ("/segments", "acme"), ("/u/acme/not-a-token", None)):
        found = headers(path, org)
        assert found["X-Frame-Options"] == "DENY" and found["X-Content-Type-Options"] == "nosniff", path
        assert found["Strict-Transport-Security"].startswith("max-age=63072000"), path
    console = headers("/")["Content-Security-Policy"]
    assert "script-src 'self';" in console and "frame-ancestors 'none'" in console and "amazoncognito.com" in console
    assert headers("/u/acme/not-a-token", None)["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_live_segment_refreshes_on_its_schedule(stack: dict[str, Any]) -> None:
    status, created = http(stack, "POST", "/segments", {**HOT, "refresh": {"every": 1, "unit": "hours"}})
    assert status == 201
    sid = created["id"]
    assert http(stack, "POST", f"/segments/{sid}/go-live")[1]["status"] == "live"
    deadline = time.monotonic() + 30
    history: list[Any] = []
    while time.monotonic() < deadline and len(history) < 2:  # an hour of stack time is 6 s here
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
    # a request to each server that never ends: the API's handler waits for the rest of the body, moto's for the headers
    api = socket.create_connection(("127.0.0.1", stack["port"]))
    api.sendall(b"POST /segments HTTP/1.1\r\nHost: x\r\nX-Tern-Org: acme\r\nContent-Length: 100\r\n\r\n{")
    aws = socket.create_connection(("127.0.0.1", stack["aws_port"]))
    aws.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    with api, aws:
        time.sleep(0.5)  # for the servers to take them
        code, output = stack["serving"].stop(signal.SIGINT)
    assert code == 0 and "stopping" in output, output
    assert not listening(stack["port"]) and not listening(stack["aws_port"])


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_start_stops_what_had_started(lake: Path, number: int) -> None:
    port, aws_port = free_port(), free_port()
    serving = Serving(lake, port, aws_port)
    try:
        deadline = time.monotonic() + 120
        while not listening(aws_port):  # moto first; the template's deployment and the functions' imports come after
            assert time.monotonic() < deadline and serving.process.poll() is None, serving.output()
            time.sleep(0.05)
        code, output = serving.stop(number)
    finally:
        serving.kill()
    assert code == 0 and "stopping" in output, output
    assert not listening(port) and not listening(aws_port)


def test_a_server_that_does_not_stop_is_named_not_waited_for(lake: Path) -> None:
    stack = LocalStack(lake)
    release = threading.Event()
    stack.moto = type("Moto", (), {"stop": lambda self: release.wait()})()  # as moto's stop waits for a loop never begun
    try:
        assert stack.stop(timeout=1) == ["moto"]
    finally:
        release.set()
