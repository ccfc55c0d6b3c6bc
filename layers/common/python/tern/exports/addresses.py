"""Where a webhook may deliver: public internet addresses only.

Exports run in a Lambda inside the customer's account, so a destination pointing at loopback, link-local
(the instance metadata service at 169.254.169.254 and fd00:ec2::254), private or otherwise reserved
addresses would let any marketer make Tern's function call internal services. The host is checked when a
destination is created, and again on every delivery at the moment of connecting, against the address the
socket actually connects to, so a name that resolves elsewhere later (DNS rebinding) is caught too.
Redirects are never followed. `allow_loopback` (the local stack and tests only) lets 127.0.0.1 / ::1 through.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(ValueError):
    """The destination's host is, or resolves to, an address Tern does not deliver to."""


def refusal(address: Address, allow_loopback: bool = False) -> str | None:
    """Why Tern will not deliver to `address`, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_link_local:
        return "a link-local address (the instance metadata service lives there)"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_reserved or address.is_unspecified or not address.is_global:
        return "not a public internet address"
    return None


def _resolve(host: str, port: int) -> list[Address]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise RefusedAddress(f"the host {host!r} does not resolve ({e})") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]


def vetted_addresses(host: str, port: int, allow_loopback: bool = False) -> list[Address]:
    """Every address `host` resolves to, or RefusedAddress naming the first that Tern does not deliver to."""
    addresses = _resolve(host, port)
    for address in addresses:
        why = refusal(address, allow_loopback)
        if why:
            raise RefusedAddress(f"the host {host!r} resolves to {address}, {why}; webhooks deliver to public addresses only")
    return addresses


def check_url(url: str, allow_loopback: bool = False) -> None:
    """RefusedAddress when the URL's host is not a public address (checked when a destination is created)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:  # an unbalanced [ or ], a port out of range
        raise RefusedAddress(f"not a usable URL: {e}") from None
    if not host:
        raise RefusedAddress("the URL names no host")
    vetted_addresses(host, port, allow_loopback)


def _guarded(allow_loopback: bool) -> Any:
    """A socket.create_connection that connects only to vetted addresses of the host (the one it resolved)."""

    def create_connection(
        address: tuple[str, int],
        timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
        source_address: Any = None,
    ) -> socket.socket:
        host, port = address
        last: OSError | None = None
        for vetted in vetted_addresses(host, port, allow_loopback):
            try:
                return socket.create_connection((str(vetted), port), timeout, source_address)
            except OSError as e:
                last = e
        raise last or OSError(f"cannot connect to {host}")

    return create_connection


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx answer becomes an HTTPError: a webhook that moved is a failed delivery


def opener(allow_loopback: bool = False) -> urllib.request.OpenerDirector:
    """A urllib opener whose connections go only to public addresses (loopback too when allowed), no redirects."""
    connect = _guarded(allow_loopback)

    class HTTPConnection(http.client.HTTPConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = connect

    class HTTPSConnection(http.client.HTTPSConnection):  # the TLS handshake still names and verifies the host
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = connect

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(HTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(HTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]

    # no proxies from the environment either: the connection is made, and vetted, here
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), HTTPHandler, HTTPSHandler, _NoRedirects)
