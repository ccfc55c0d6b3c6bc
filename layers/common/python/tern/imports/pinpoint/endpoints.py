"""Pinpoint's endpoint files (what CreateImportJob read for an IMPORT segment) as a Tern list's CSV.

A CSV's header names the endpoint's fields as dotted paths (`ChannelType,Address,User.UserId,...`); a
newline-delimited JSON file has one endpoint object a line (`{"ChannelType": "EMAIL", "Address": ..., "User":
{"UserId": ...}}`). A contact is found by `User.UserId` (its contact_id) when the file has user ids, else by the
`Address` of its EMAIL endpoints. A user with several endpoints is one contact (the list counts duplicates).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tern.errors import DefinitionError, Problem


def as_list_csv(text: str) -> tuple[str, int]:
    """The file as a Tern list's CSV (one column, contact_id or email); and how many endpoints had neither."""
    text = text.removeprefix("\ufeff")
    rows = _ndjson(text) if text.lstrip().startswith("{") else _csv(text)
    if not rows:
        raise DefinitionError(
            [Problem("body", "no endpoints: expected Pinpoint's endpoint CSV (a header of dotted names) or one JSON object a line")]
        )
    by_user = any(r.get("User.UserId") for r in rows)
    key, values, without = ("contact_id" if by_user else "email"), [], 0
    for row in rows:
        if by_user:
            value = row.get("User.UserId")
        else:
            value = row.get("Address") if str(row.get("ChannelType", "")).upper() == "EMAIL" else None
        if value:
            values.append(str(value))
        else:
            without += 1
    if not values:
        raise DefinitionError([Problem("body", "no endpoint has a User.UserId or an EMAIL Address")])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([key])
    writer.writerows([v] for v in values)
    return out.getvalue(), without


def _csv(text: str) -> list[dict[str, Any]]:
    try:
        return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]
    except csv.Error as e:
        raise DefinitionError([Problem("body", f"the CSV cannot be read: {e}")]) from None


def _ndjson(text: str) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            endpoint = json.loads(line)
        except json.JSONDecodeError as e:
            raise DefinitionError([Problem(f"line {number}", f"not JSON: {e.msg}")]) from None
        if not isinstance(endpoint, dict):
            raise DefinitionError([Problem(f"line {number}", "expected an endpoint object")])
        rows.append(_flat(endpoint))
    return rows


def _flat(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in value.items():
        if isinstance(v, dict):
            flat.update(_flat(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat
