"""A plain evaluator of segment definitions, written from SEGMENT-FORMAT.md and nothing else.

It walks rows in Python, one contact at a time, so that the compiled SQL has something independent to
be checked against. Slow by design; small data only.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

DAY = dt.timedelta(days=1)
ALIASES = {
    "campaign": "campaign_id", "journey": "journey_id", "step": "step_id", "message": "message_id",
    "product": "product_id", "order": "order_id", "production": "production_ref", "event": "event_ref",
}  # fmt: skip
DATE_FIELDS = {"birth_date"}
TIME_FIELDS = {"created_at", "updated_at"}


def _utc(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _rows(folder: Path) -> list[dict[str, Any]]:
    if not folder.exists():
        return []
    return ds.dataset(folder, format="parquet", partitioning="hive").to_table().to_pylist()  # type: ignore[no-any-return]


def _row(raw: dict[str, Any]) -> dict[str, Any]:
    row = {k: _utc(v) for k, v in raw.items()}
    for key in ("attributes", "properties"):
        if isinstance(row.get(key), list):
            row[key] = dict(row[key])
    return row


class Lake:
    """Every row of a lake directory, read with pyarrow, grouped by org and contact."""

    def __init__(self, root: Path):
        contacts = ds.dataset(root / "contacts", format="parquet", partitioning="hive").to_table().to_pylist()
        self.contacts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for raw in contacts:
            self.contacts[str(raw["org_id"])].append(_row(raw))
        self.events: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._tops: dict[tuple[str, str, dt.datetime], frozenset[str]] = {}
        if (root / "events").exists():
            for raw in ds.dataset(root / "events", format="parquet", partitioning="hive").to_table().to_pylist():
                self.events[(str(raw["org_id"]), raw["contact_id"])].append(_row(raw))
        # stored segment evaluations and imported lists: (org, segment, evaluation) / (org, list) -> contact ids
        self.memberships: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for raw in _rows(root / "memberships"):
            self.memberships[(str(raw["org_id"]), str(raw["segment_id"]), str(raw["evaluation_id"]))].add(raw["contact_id"])
        self.lists: dict[tuple[str, str], set[str]] = defaultdict(set)
        for raw in _rows(root / "lists"):
            self.lists[(str(raw["org_id"]), str(raw["list_id"]))].add(raw["contact_id"])
        self._overlay(_rows(root / "overlay"))
        self.evaluations: dict[str, str] = {}  # segment -> the evaluation an in_segment criterion reads (members())

    def _overlay(self, changes: list[dict[str, Any]]) -> None:
        """Tern's overlay applied to tags, categories and consents: the latest change of a (contact, kind, value) wins,
        a value added if it says add, removed if it says remove."""
        latest: dict[tuple[str, str, str, str], tuple[Any, str]] = {}
        for c in changes:
            key = (str(c["org_id"]), c["contact_id"], c["kind"], c["value"])
            if key not in latest or _utc(c["changed_at"]) > latest[key][0]:
                latest[key] = (_utc(c["changed_at"]), c["action"])
        column = {"tag": "tags", "category": "categories", "consent": "consents"}
        for org, contacts in self.contacts.items():
            for contact in contacts:
                mine = {(k[2], k[3]): action for k, (_, action) in latest.items() if k[0] == org and k[1] == contact["contact_id"]}
                for (kind, value), action in mine.items():
                    have = list(contact.get(column[kind]) or [])
                    if action == "add" and value not in have:
                        have.append(value)
                    if action == "remove":
                        have = [v for v in have if v != value]
                    contact[column[kind]] = have

    def members(self, definition: dict[str, Any], org: str, now: dt.datetime, evaluations: dict[str, str] | None = None) -> set[str]:
        self.evaluations = evaluations or {}
        return {c["contact_id"] for c in self.contacts[org] if self.holds(definition["where"], c, org, now)}

    def criterion_counts(self, definition: dict[str, Any], org: str, now: dt.datetime) -> list[int]:
        leaves = list(_leaves(definition["where"]))
        return [sum(1 for c in self.contacts[org] if self.holds(leaf, c, org, now)) for leaf in leaves]

    def holds(self, node: dict[str, Any], contact: dict[str, Any], org: str, now: dt.datetime) -> bool:
        if "all" in node:
            return all(self.holds(n, contact, org, now) for n in node["all"])
        if "any" in node:
            return any(self.holds(n, contact, org, now) for n in node["any"])
        if "not" in node:
            return not self.holds(node["not"], contact, org, now)
        events = self.events.get((org, contact["contact_id"]), [])
        kind = node["kind"]
        if kind == "attribute":
            return _attribute(node, contact)
        if kind in ("tags", "categories", "consents"):
            have = set(contact.get(kind) or [])
            wanted = set(node["values"])
            return {"has_any": bool(have & wanted), "has_all": wanted <= have, "has_none": not (have & wanted)}[node["op"]]
        if kind == "age":
            return _age(node, contact.get("birth_date"), now.date())
        if kind == "gender":
            return node["value"] == "any" or contact.get("gender") == node["value"]
        if kind == "distance":
            lat, lon = contact.get("latitude"), contact.get("longitude")
            if lat is None or lon is None or math.isnan(lat) or math.isnan(lon):
                return False
            return _haversine(node["lat"], node["lon"], lat, lon) <= node["within_km"]
        if kind == "activity":
            chosen = [e for e in events if e["event_type"] == node["event_type"]
                      and _filters_hold(node.get("filters", {}), e) and _in_window(node.get("window"), e, now)]  # fmt: skip
            return _compare(_measure(node.get("measure", "count"), chosen), node.get("op", "gte"), node.get("value", 1))
        if kind == "recency":
            types = node.get("event_types")
            mine = [e for e in events if types is None or e["event_type"] in types]
            if node["op"] == "days_ago":
                past = [e["ts"] for e in mine if e["ts"] <= now]
                return bool(past) and max(past).date() == now.date() - node["days"] * DAY
            recent = any(now - node["days"] * DAY <= e["ts"] <= now for e in mine)
            return recent if node["op"] == "within" else not recent
        if kind == "lead_time":
            return any(
                e["event_type"] == node.get("event_type", "purchase") and e.get("event_start") is not None
                and dt.timedelta(0) <= e["event_start"] - e["ts"] <= node["max_days"] * DAY
                and _in_window(node.get("window"), e, now)
                for e in events
            )  # fmt: skip
        if kind == "score_change":
            change = self.score_change(contact, org, now, node["days"])
            within = "op" not in node or _compare(change, node["op"], node["value"])
            if "top" not in node:
                return within
            return within and contact["contact_id"] in self.top(node, org, now)
        if kind == "journey_outcome":
            return any(
                e["event_type"] == "journey_step" and e.get("journey_id") == node["journey_id"]
                and ("step_id" not in node or e.get("step_id") == node["step_id"])
                and e.get("outcome") == node["outcome"] and ("way" not in node or e.get("reason") == node["way"])
                and _in_window(node.get("window"), e, now)
                for e in events
            )  # fmt: skip
        if kind in ("in_segment", "not_in_segment"):
            member = contact["contact_id"] in self.memberships[(org, node["segment_id"], self.evaluations[node["segment_id"]])]
            return member if kind == "in_segment" else not member
        if kind == "in_list":
            return contact["contact_id"] in self.lists[(org, node["list_id"])]
        raise AssertionError(f"reference evaluator does not know {kind}")

    def top(self, node: dict[str, Any], org: str, now: dt.datetime) -> frozenset[str]:
        """The `top` contacts of a ranked score_change criterion: ranked once per (criterion, org, now), not
        once per contact asked about."""
        key = (json.dumps(node, sort_keys=True), org, now)
        if key not in self._tops:
            ranked = sorted(
                self.contacts[org],
                key=lambda c: (
                    not ("op" not in node or _compare(self.score_change(c, org, now, node["days"]), node["op"], node["value"])),
                    -self.score_change(c, org, now, node["days"]),
                    c["contact_id"],
                ),
            )
            self._tops[key] = frozenset(c["contact_id"] for c in ranked[: node["top"]])
        return self._tops[key]

    def score_change(self, contact: dict[str, Any], org: str, now: dt.datetime, days: int) -> float:
        return sum(
            e["score_delta"] for e in self.events.get((org, contact["contact_id"]), [])
            if e.get("score_delta") is not None and now - days * DAY <= e["ts"] <= now
        )  # fmt: skip


def _leaves(node: dict[str, Any]) -> Any:
    if "all" in node or "any" in node:
        for child in node.get("all", node.get("any", [])):
            yield from _leaves(child)
    elif "not" in node:
        yield from _leaves(node["not"])
    else:
        yield node


def _typed(field: str, value: Any) -> Any:
    if field in DATE_FIELDS:
        return dt.date.fromisoformat(value)
    if field in TIME_FIELDS:
        return _utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    return value


def _attribute(node: dict[str, Any], contact: dict[str, Any]) -> bool:
    field, op = node["field"], node["op"]
    if field.startswith("attributes."):
        v = (contact.get("attributes") or {}).get(field.split(".", 1)[1])
        sample = node.get("value", (node.get("values") or [None])[0])
        if isinstance(sample, (int, float)) and not isinstance(sample, bool):
            try:
                v = float(v) if v is not None else None
            except ValueError:
                v = None
            if v is not None and math.isnan(v):
                v = None
        elif isinstance(sample, bool):
            sample = str(sample).lower()
            node = {**node, "value": sample} if "value" in node else node
        value = node.get("value")
        values = node.get("values")
    else:
        v = contact.get(field)
        if isinstance(v, float) and math.isnan(v):
            v = None
        value = _typed(field, node["value"]) if node.get("value") is not None else None
        values = [_typed(field, x) for x in node["values"]] if node.get("values") is not None else None
    if op == "is_empty":
        return v is None or v == ""
    if op == "is_not_empty":
        return not (v is None or v == "")
    if op == "ne":
        return v is None or v != value
    if op == "not_in":
        return v is None or v not in values
    if v is None:
        return False
    if op == "eq":
        return bool(v == value)
    if op == "in":
        return v in values
    if op == "contains":
        return value in v
    if op == "starts_with":
        return bool(v.startswith(value))
    if op == "between":
        return bool(values[0] <= v <= values[1])
    return _compare(v, op, value)


def _compare(left: Any, op: str, right: Any) -> bool:
    return {
        "eq": left == right, "ne": left != right, "gt": left > right,
        "gte": left >= right, "lt": left < right, "lte": left <= right,
    }[op]  # fmt: skip


def _age(node: dict[str, Any], birth: dt.date | None, today: dt.date) -> bool:
    if birth is None:
        return bool(node.get("include_unknown", True))
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return (node.get("min") is None or age >= node["min"]) and (node.get("max") is None or age <= node["max"])


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def _filters_hold(filters: dict[str, Any], event: dict[str, Any]) -> bool:
    for name, wanted in filters.items():
        if name.startswith("properties."):
            have = (event.get("properties") or {}).get(name.split(".", 1)[1])
            options = [str(w).lower() if isinstance(w, bool) else str(w) for w in (wanted if isinstance(wanted, list) else [wanted])]
        else:
            have = event.get(ALIASES.get(name, name))
            options = wanted if isinstance(wanted, list) else [wanted]
        if have is None or have not in options:
            return False
    return True


def _in_window(window: dict[str, Any] | None, event: dict[str, Any], now: dt.datetime) -> bool:
    if window is None:
        return True
    at = event.get(window.get("field", "ts"))
    if at is None:
        return False
    if "last_days" in window:
        return bool(now - window["last_days"] * DAY <= at <= now)
    if "days_ago" in window:
        return bool(at.date() == now.date() - window["days_ago"] * DAY)
    if "between" in window:
        first, last = (dt.date.fromisoformat(d) for d in window["between"])
        return first <= at.date() <= last
    return bool(at >= now - window["days_back"] * DAY)


def _measure(measure: str, events: list[dict[str, Any]]) -> float:
    if measure == "count":
        return len(events)
    kind, column = measure.split(":")
    if kind == "sum":
        return sum(e[column] for e in events if e.get(column) is not None)
    return len({e[column] for e in events if e.get(column) is not None})
