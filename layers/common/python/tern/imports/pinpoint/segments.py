"""Pinpoint segments as Tern segment definitions, with Pinpoint's documented semantics.

A dimensional segment is its `Dimensions` (every dimension given must hold) and its `SegmentGroups`:
groups combined by `Include` (ALL, ANY, NONE), each group its base segments (`SourceSegments`, combined by
`SourceType`) and its dimension sets (`Dimensions`, combined by `Type`), both holding. An IMPORT segment is
the static list made of its endpoint file.

Pinpoint counts endpoints, Tern contacts: a user with an e-mail and a phone endpoint is one contact with both.
A user's or an endpoint's attribute is the contacts column of that name when there is one (`FirstName`,
`first_name` -> first_name), else the custom attribute (`attributes.NAME`). Dates are compared as Tern compares
a column's values: typed for date columns, as ISO 8601 text for custom attributes (exact for values
written alike, as Pinpoint's ISO_INSTANT writes them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tern import lake
from tern.imports.report import Findings

Resolve = Callable[[str], str | None]  # a Pinpoint segment's id -> the Tern segment's, None when it is not imported

RECENCY_DAYS = {"HR_24": 1, "DAY_7": 7, "DAY_14": 14, "DAY_30": 30}
METRIC_OPS = {"GREATER_THAN": "gt", "LESS_THAN": "lt", "GREATER_THAN_OR_EQUAL": "gte", "LESS_THAN_OR_EQUAL": "lte", "EQUAL": "eq"}
COMBINE = {"ALL": "all", "ANY": "any", "NONE": "none"}
CHANNEL_COLUMNS = {"EMAIL": "email", "SMS": "phone"}
DEVICE_DIMENSIONS = ("AppVersion", "DeviceType", "Make", "Model", "Platform")


class Unmappable(Exception):
    """The element cannot become Tern's: the message says why and what to do instead."""


def column_for(name: str) -> str | None:
    """The contacts column an attribute of this name means (FirstName, first_name, first-name -> first_name)."""
    plain = re.sub(r"[^a-z0-9]", "", name.lower())
    for column in lake.CONTACTS:
        if column != "attributes" and column.replace("_", "") == plain:
            return column
    return None


def combine(how: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Parts joined as Pinpoint's ALL / ANY / NONE join them."""
    if how == "NONE":
        return {"not": {"any": parts}}
    if len(parts) == 1:
        return parts[0]
    return {COMBINE[how]: parts}


class SegmentMapper:
    """One segment's mapping; `findings` says what became of each element."""

    def __init__(self, findings: Findings, resolve: Resolve):
        self.findings = findings
        self.resolve = resolve

    def segment(self, body: dict[str, Any], list_id: str | None) -> dict[str, Any]:
        """The Tern `where` of a SegmentResponse / WriteSegmentRequest (Unmappable when it cannot be had)."""
        if body.get("SegmentType") == "IMPORT" or "ImportDefinition" in body:
            if list_id is None:
                raise Unmappable("an imported segment becomes the static list of its endpoint file: import the file with it "
                                 "(tern import pinpoint SEGMENT.json ENDPOINTS.csv, or POST /imports/pinpoint/endpoints)")  # fmt: skip
            self.findings.differs(
                "ImportDefinition", "the endpoint file's contacts as a static list (in_list), matched by User.UserId or e-mail"
            )
            return {"kind": "in_list", "list_id": list_id}
        parts = []
        if body.get("Dimensions"):
            parts.append(self.dimensions(body["Dimensions"], "Dimensions", in_condition=False))
        if body.get("SegmentGroups"):
            parts.append(self.groups(body["SegmentGroups"], "SegmentGroups"))
        return {"all": parts} if len(parts) != 1 else parts[0]

    def groups(self, groups: dict[str, Any], where: str) -> dict[str, Any]:
        found = []
        for i, group in enumerate(groups.get("Groups") or []):
            here = f"{where}.Groups[{i}]"
            parts = []
            sources = []
            for j, source in enumerate(group.get("SourceSegments") or []):
                target = self.resolve(source["Id"])
                if target is None:
                    raise Unmappable(
                        f"{here}.SourceSegments[{j}]: base segment {source['Id']} is neither in this import nor imported before"
                    )
                if "Version" in source:
                    self.findings.differs(
                        f"{here}.SourceSegments[{j}]", f"Tern reads the base segment's latest evaluation, not version {source['Version']}"
                    )
                else:
                    self.findings.mapped(f"{here}.SourceSegments[{j}]")
                sources.append({"kind": "in_segment", "segment_id": target})
            if sources:
                parts.append(combine(group.get("SourceType") or "ALL", sources))
            sets = [self.dimensions(d, f"{here}.Dimensions[{j}]", in_condition=False) for j, d in enumerate(group.get("Dimensions") or [])]
            if sets:
                parts.append(combine(group.get("Type") or "ALL", sets))
            found.append({"all": parts} if len(parts) != 1 else parts[0])
        return combine(groups.get("Include") or "ALL", found) if found else {"all": []}

    def dimensions(self, dimensions: dict[str, Any], where: str, in_condition: bool) -> dict[str, Any]:
        """One SegmentDimensions: every dimension in it holds. `in_condition`: for a journey's split, where only
        what one contact's record answers may be asked (no recency)."""
        parts: list[dict[str, Any]] = []
        for source in ("Attributes", "UserAttributes"):
            for name, dimension in (dimensions.get(source) or {}).items():
                parts.extend(self.attribute(f"{where}.{source}.{name}", name, dimension))
        for name, metric in (dimensions.get("Metrics") or {}).items():
            parts.append(self.metric(f"{where}.Metrics.{name}", name, metric))
        recency = (dimensions.get("Behavior") or {}).get("Recency")
        if recency:
            if in_condition:
                raise Unmappable(
                    f"{where}.Behavior.Recency: a split's condition is answered from the contact's record; put the recency in a segment and test in_segment"
                )
            days = RECENCY_DAYS.get(recency.get("Duration", ""))
            kind = {"ACTIVE": "within", "INACTIVE": "not_within"}.get(recency.get("RecencyType", ""))
            if days is None or kind is None:
                raise Unmappable(
                    f"{where}.Behavior.Recency: unknown Duration {recency.get('Duration')!r} or RecencyType {recency.get('RecencyType')!r}"
                )
            self.findings.differs(
                f"{where}.Behavior.Recency",
                "activity is any event of the contact in the events data (Pinpoint: the endpoint's sessions and engagement)",
            )
            parts.append({"kind": "recency", "op": kind, "days": days})
        demographic = dimensions.get("Demographic") or {}
        if demographic.get("Channel"):
            parts.append(self.channel(f"{where}.Demographic.Channel", demographic["Channel"]))
        for name in DEVICE_DIMENSIONS:
            if demographic.get(name):
                self.findings.differs(
                    f"{where}.Demographic.{name}", f"Tern keeps no device data: read from the custom attribute {name} (put it there)"
                )
                parts.append(self.set_dimension(f"attributes.{name}", demographic[name]))
        location = dimensions.get("Location") or {}
        if location.get("Country"):
            self.findings.mapped(f"{where}.Location.Country")
            parts.append(self.set_dimension("country", location["Country"]))
        if location.get("GPSPoint"):
            point = location["GPSPoint"]
            if point.get("RangeInKilometers") is None:
                raise Unmappable(f"{where}.Location.GPSPoint: no RangeInKilometers: give the distance the point reaches")
            self.findings.mapped(f"{where}.Location.GPSPoint")
            coordinates = point["Coordinates"]
            parts.append(
                {
                    "kind": "distance",
                    "lat": coordinates["Latitude"],
                    "lon": coordinates["Longitude"],
                    "within_km": point["RangeInKilometers"],
                }
            )
        return {"all": parts} if len(parts) != 1 else parts[0]

    def field(self, where: str, name: str) -> tuple[str, bool]:
        """The Tern field an attribute is read from, and whether that was noted as a difference."""
        column = column_for(name)
        if column is None:
            return f"attributes.{name}", False
        if column != name:
            self.findings.differs(where, f"read from the contacts column {column}")
        return column, column != name

    def attribute(self, where: str, name: str, dimension: dict[str, Any]) -> list[dict[str, Any]]:
        values = [str(v) for v in dimension.get("Values") or []]
        how = dimension.get("AttributeType") or "INCLUSIVE"
        field, noted = self.field(where, name)
        if how in ("INCLUSIVE", "EXCLUSIVE", "CONTAINS") and not noted:
            self.findings.mapped(where)
        if field in lake.LIST_COLUMNS and how in ("INCLUSIVE", "EXCLUSIVE"):
            return [{"kind": field, "op": "has_any" if how == "INCLUSIVE" else "has_none", "values": values}]
        if how in ("INCLUSIVE", "EXCLUSIVE"):
            return [{"kind": "attribute", "field": field, "op": "in" if how == "INCLUSIVE" else "not_in", "values": values}]
        if how == "CONTAINS":
            return [combine("ANY", [{"kind": "attribute", "field": field, "op": "contains", "value": v} for v in values])]
        if how not in ("BEFORE", "AFTER", "ON", "BETWEEN", "NOT_BETWEEN"):
            raise Unmappable(
                f"{where}.AttributeType: unknown {how!r} (INCLUSIVE, EXCLUSIVE, CONTAINS, BEFORE, AFTER, ON, BETWEEN, NOT_BETWEEN)"
            )
        wanted = 2 if how in ("BETWEEN", "NOT_BETWEEN") else 1
        if len(values) < wanted:
            raise Unmappable(f"{where}.Values: {how} needs {wanted} date-time{'s' if wanted > 1 else ''}")
        if len(values) > wanted:
            self.findings.differs(where, f"{how} reads the first {wanted} of {len(values)} values, as Pinpoint does")
        elif lake.CONTACTS.get(field) is None and not noted:
            self.findings.differs(where, "compared as ISO 8601 text: exact for values written alike (Pinpoint's ISO_INSTANT)")
        elif not noted:
            self.findings.mapped(where)
        column_type = lake.CONTACTS.get(field)
        if column_type is lake.ColumnType.DATE:
            values = [v[:10] for v in values]
        if how == "ON":
            day = values[0][:10]
            if column_type is lake.ColumnType.DATE:
                return [{"kind": "attribute", "field": field, "op": "eq", "value": day}]
            if column_type is lake.ColumnType.TIMESTAMP:
                return [{"kind": "attribute", "field": field, "op": "between", "values": [f"{day}T00:00:00Z", f"{day}T23:59:59.999999Z"]}]
            return [{"kind": "attribute", "field": field, "op": "starts_with", "value": day}]
        if how == "BEFORE":
            return [{"kind": "attribute", "field": field, "op": "lt", "value": values[0]}]
        if how == "AFTER":
            return [{"kind": "attribute", "field": field, "op": "gt", "value": values[0]}]
        low, high = sorted(values[:2])
        if how == "BETWEEN":
            return [{"kind": "attribute", "field": field, "op": "between", "values": [low, high]}]
        return [
            {
                "any": [
                    {"kind": "attribute", "field": field, "op": "lt", "value": low},
                    {"kind": "attribute", "field": field, "op": "gt", "value": high},
                ]
            }
        ]

    def metric(self, where: str, name: str, metric: dict[str, Any]) -> dict[str, Any]:
        op = METRIC_OPS.get(str(metric.get("ComparisonOperator", "")))
        if op is None:
            raise Unmappable(f"{where}.ComparisonOperator: unknown {metric.get('ComparisonOperator')!r} ({', '.join(METRIC_OPS)})")
        column = column_for(name)
        numeric = column is not None and lake.CONTACTS[column] in (lake.ColumnType.INT, lake.ColumnType.DOUBLE)
        field = column if numeric and column else f"attributes.{name}"
        if field != name:
            self.findings.differs(where, f"read from {'the contacts column' if numeric else 'the custom attribute'} {field}, as a number")
        else:
            self.findings.mapped(where)
        value = metric["Value"]
        return {
            "kind": "attribute",
            "field": field,
            "op": op,
            "value": int(value) if field == "lead_score" and float(value).is_integer() else value,
        }

    def channel(self, where: str, dimension: dict[str, Any]) -> dict[str, Any]:
        values = [str(v) for v in dimension.get("Values") or []]
        known = [CHANNEL_COLUMNS[v] for v in values if v in CHANNEL_COLUMNS]
        others = [v for v in values if v not in CHANNEL_COLUMNS]
        if others:
            self.findings.differs(where, f"Tern contacts have no {', '.join(others)} address: those channels match no contact")
        else:
            self.findings.differs(where, "a contact with an e-mail address (SMS: a phone number) rather than an endpoint of that channel")
        if (dimension.get("DimensionType") or "INCLUSIVE") == "INCLUSIVE":
            return combine("ANY", [{"kind": "attribute", "field": c, "op": "is_not_empty"} for c in known]) if known else {"any": []}
        return {"all": [{"kind": "attribute", "field": c, "op": "is_empty"} for c in known]}

    def set_dimension(self, field: str, dimension: dict[str, Any]) -> dict[str, Any]:
        values = [str(v) for v in dimension.get("Values") or []]
        op = "in" if (dimension.get("DimensionType") or "INCLUSIVE") == "INCLUSIVE" else "not_in"
        return {"kind": "attribute", "field": field, "op": op, "values": values}
