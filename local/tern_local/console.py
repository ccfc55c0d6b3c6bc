"""The console as `tern serve` offers it: template.yaml's CloudFront distribution, answered the same way.

A path matching one of the distribution's API behaviours goes to the admin API; every other path is a file of
the built console (console/dist, what `make publish-console` uploads to the console bucket), `/` its
DefaultRootObject. `/config.json` tells the console how to sign in: deployed, it names the Cognito hosted UI;
here, the orgs of the lake, for the org picker (the local stack takes the org from X-Tern-Org).
"""

from __future__ import annotations

import gzip
import json
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from tern_local.template import template

DIST = Path(__file__).resolve().parents[2] / "console" / "dist"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    cache: str = "no-cache"


# The response headers policy's blocks: the header each sets, and its value from the block.
_SECURITY_HEADERS = {
    "ContentSecurityPolicy": ("Content-Security-Policy", lambda b: b["ContentSecurityPolicy"]),
    "StrictTransportSecurity": ("Strict-Transport-Security", lambda b: f"max-age={b['AccessControlMaxAgeSec']}"
                                + ("; includeSubDomains" if b.get("IncludeSubdomains") else "") + ("; preload" if b.get("Preload") else "")),
    "FrameOptions": ("X-Frame-Options", lambda b: b["FrameOption"]),
    "ContentTypeOptions": ("X-Content-Type-Options", lambda b: "nosniff"),
    "ReferrerPolicy": ("Referrer-Policy", lambda b: b["ReferrerPolicy"]),
}  # fmt: skip


class ConsoleSite:
    def __init__(self, lake: Path, dist: Path = DIST, resolve: Callable[[Any], Any] = lambda value: value):
        resources = template()["Resources"]
        config = resources["ConsoleDistribution"]["Properties"]["DistributionConfig"]
        self.api_patterns = [b["PathPattern"] for b in config["CacheBehaviors"] if b["TargetOriginId"] == "api"]
        self.root_object = str(config["DefaultRootObject"])
        self.lake = lake
        self.dist = dist
        # what the distribution's response headers policy adds to every answer (each behaviour names it)
        policy = resolve(resources["ConsoleSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"])
        self.security_headers = [
            (header, value(policy[key]), bool(policy[key]["Override"]))
            for key, (header, value) in _SECURITY_HEADERS.items()
            if key in policy
        ]

    def with_security_headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """An answer's headers as CloudFront sends them on: the policy's, overriding the origin's or not, as it says."""
        sent = {name.lower() for name, _ in headers}
        kept = [(n, v) for n, v in headers if not any(n.lower() == h.lower() and override for h, _, override in self.security_headers)]
        return kept + [(h, v) for h, v, override in self.security_headers if override or h.lower() not in sent]

    def is_api(self, path: str) -> bool:
        """Does CloudFront pass this path to the API? (Its patterns: `*` any characters, `?` one; case-sensitive.)"""
        return any(fnmatchcase(path, pattern.replace("[", "[[]")) for pattern in self.api_patterns)

    def answer(self, method: str, path: str) -> Answer:
        if method not in ("GET", "HEAD"):  # the default behaviour's AllowedMethods; CloudFront answers 403
            return Answer(
                403, "application/json", json.dumps({"message": f"{method} {path}: the console's files take GET and HEAD only"}).encode()
            )
        if path == "/config.json":
            orgs = sorted(p.name.removeprefix("org_id=") for p in (self.lake / "contacts").glob("org_id=*") if p.is_dir())
            return Answer(200, "application/json", json.dumps({"auth": "local", "orgs": orgs}).encode())
        name = self.root_object if path in ("", "/") else path.lstrip("/")
        file = (self.dist / name).resolve()
        if not file.is_relative_to(self.dist.resolve()) or not file.is_file():
            if not (self.dist / self.root_object).is_file():
                return _missing("the console is not built: `make console` (or `make serve`, which builds it) builds console/dist")
            return _missing(f"no file {path} in the console")
        return Answer(200, content_type(name), file.read_bytes(), cache_control(name))


def content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def cache_control(name: str) -> str:
    """How long a file of the console may be kept, here and in the console bucket: Vite names assets/ by their
    content's hash (kept a year), index.html and config.json change in place (never kept)."""
    return "public, max-age=31536000, immutable" if name.startswith("assets/") else "no-cache"


def first_load_kb(dist: Path = DIST) -> tuple[float, list[str]]:
    """The gzipped size of the JavaScript the first page loads before anything is clicked: index.html's entry and
    preloads, and the landing route's own chunk (the segment list)."""
    html = (dist / "index.html").read_text()
    files = sorted(set(re.findall(r'(?:src|href)="/(assets/[^"]+\.js)"', html)))
    files += [p.relative_to(dist).as_posix() for p in (dist / "assets").glob("Segments-*.js")]
    return sum(len(gzip.compress((dist / f).read_bytes(), 9)) for f in files) / 1024, files


def _missing(message: str) -> Answer:
    return Answer(404, "application/json", json.dumps({"message": message}).encode())
