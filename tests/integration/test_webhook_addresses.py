"""Webhooks deliver to public addresses only: refused when a destination is created (through the local stack's
API) and again at the moment of connecting (DNS rebinding: a name that resolved to a public address at
creation and to an internal one later), never following a redirect. Receivers are real HTTP servers on
127.0.0.1; name resolution is played by a fake getaddrinfo where a test needs a name to change its answer.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stack_client import http, local_stack
from tern.errors import DeliveryFailed
from tern.exports import addresses
from tern.exports.addresses import RefusedAddress, check_url, refusal
from tern.exports.webhook import Webhook
from tern_local.generator import generate
from tern_local.stack import LocalStack

SECRET = "s" * 32


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("fd00:ec2::254", "private"), ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.0.10", "private"),
        ("::ffff:169.254.169.254", "link-local"), ("::ffff:127.0.0.1", "loopback"), ("0.0.0.0", "private"),
        ("100.64.0.1", "public"), ("224.0.0.1", "public"), ("240.0.0.1", "private"),
        ("8.8.8.8", None), ("2606:4700:4700::1111", None), ("52.94.236.248", None),
    ],
)  # fmt: skip
def test_internal_addresses_are_refused_and_public_ones_pass(address: str, refused: str | None) -> None:
    why = refusal(ipaddress.ip_address(address))
    assert (why is None) if refused is None else (why is not None and refused in why), why


def test_loopback_passes_only_when_allowed() -> None:
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("169.254.169.254"), allow_loopback=True) is not None


class Receiver:
    """A webhook endpoint on 127.0.0.1 that counts requests; `redirect` answers 302 to that URL instead of 200."""

    def __init__(self, redirect: str | None = None):
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                self.send_response(302 if redirect else 200)
                if redirect:
                    self.send_header("Location", redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def _resolving(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    """Names resolve to the next address in their list on each lookup (the last one sticks)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(addresses.socket, "getaddrinfo", getaddrinfo)


def test_a_name_that_rebinds_to_loopback_after_creation_is_refused_at_delivery(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving(monkeypatch, {"hooks.example.com": ["93.184.216.34", "127.0.0.1"]})
    url = f"http://hooks.example.com:{receiver.port}/hook"
    check_url(url)  # at creation it resolved to a public address
    hook = Webhook(url, [SECRET], timeout_seconds=5, sleep=lambda s: None)
    with pytest.raises(DeliveryFailed, match="resolves to 127.0.0.1, a loopback address") as failed:
        hook.post(b"{}", "x:1")
    assert failed.value.attempts == 1 and receiver.requests == 0  # refused before connecting, and not retried


def test_delivery_connects_to_the_address_it_vetted(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving(monkeypatch, {"hooks.example.com": ["127.0.0.1"]})
    hook = Webhook(f"http://hooks.example.com:{receiver.port}/hook", [SECRET], sleep=lambda s: None, allow_loopback=True)
    assert hook.post(b"{}", "x:1") == 1 and receiver.requests == 1
    with pytest.raises(DeliveryFailed, match="loopback"):
        Webhook(f"http://localhost:{receiver.port}/hook", [SECRET], sleep=lambda s: None).post(b"{}", "x:2")
    assert receiver.requests == 1


def test_a_redirect_is_never_followed(receiver: Receiver) -> None:
    redirecting = Receiver(redirect=f"http://127.0.0.1:{receiver.port}/elsewhere")
    try:
        hook = Webhook(f"http://127.0.0.1:{redirecting.port}/hook", [SECRET], sleep=lambda s: None, allow_loopback=True)
        with pytest.raises(DeliveryFailed, match="302"):
            hook.post(b"{}", "x:1")
        assert redirecting.requests == 1 and receiver.requests == 0
    finally:
        redirecting.close()


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(RefusedAddress, match="does not resolve"):
        check_url("https://nothing.invalid/hook")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    lake: Path = tmp_path_factory.mktemp("webhook-lake")
    generate(lake, contacts=50, events_per_contact=2, days=10, org="acme", seed=9)
    with local_stack(lake) as running:
        yield running


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.8:8080/internal",
        "https://192.168.1.1/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0:9000/",
        "https://nothing.invalid/hook",
    ],
)
def test_the_api_refuses_internal_destinations_and_stores_nothing(stack: LocalStack, url: str) -> None:
    before = http(stack, "GET", "/destinations")[1]["destinations"]
    status, answer = http(stack, "POST", "/destinations", {"name": "internal", "url": url, "secret": SECRET})
    assert status == 400 and answer["problems"][0]["path"] == "url", answer
    assert http(stack, "GET", "/destinations")[1]["destinations"] == before


def test_the_local_stack_allows_loopback_receivers(stack: LocalStack, receiver: Receiver) -> None:
    status, answer = http(
        stack, "POST", "/destinations", {"name": "laptop", "url": f"http://127.0.0.1:{receiver.port}/hook", "secret": SECRET}
    )
    assert status == 201, answer
