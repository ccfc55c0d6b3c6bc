"""Example segments a marketer can start from (the seeds' own: inactive for 60 days, impulsive buyers, lead score
rising fastest, bounce risk, upcoming shows except one production, fans near the venue, hot leads in Warsaw).

They are the files in tern/segments/examples/ (also the compiler's snapshot cases, and examples/segments/ in the
repository), shipped in the layer; each is checked as a definition when read."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from tern.segments.definition import parse_definition


@cache
def examples() -> list[dict[str, Any]]:
    """[{id, name, description, where}], by name; `id` names the file."""
    found = []
    for item in resources.files("tern.segments").joinpath("examples").iterdir():
        if item.name.endswith(".json"):
            body = json.loads(item.read_text(encoding="utf-8"))
            parse_definition(body)  # a broken example fails here, not in a marketer's editor
            found.append({"id": item.name.removesuffix(".json"), "name": body["name"], "description": body.get("description", ""),
                          "where": body["where"]})  # fmt: skip
    return sorted(found, key=lambda e: e["name"])
