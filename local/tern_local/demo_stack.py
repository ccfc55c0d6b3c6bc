"""The second half of `make demo`: segments as living things, through the admin API of the local stack.

The local stack (`tern serve`) starts in this process on free ports; every call below is a real HTTP
request to it, as a marketer's browser or a script would make.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tern_local.generator import EVENTS_SCHEMA
from tern_local.stack import LocalStack

LAUNCH_LINK = "https://shop.example.com/new"
ADDED_EVENTS = "demo-added-clicks.parquet"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, url: str, org: str):
        self.url = url
        self.org = org

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "X-Tern-Org": self.org}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            raise SystemExit(f"demo: {method} {path} answered {e.code}: {e.read().decode()}") from None


def forget_earlier_runs(lake: Path, org: str) -> None:
    """The local stack's store lives in memory: drop what an earlier demo left in the lake folder."""
    for added in (lake / "events" / f"org_id={org}").glob(f"dt=*/{ADDED_EVENTS}"):
        added.unlink()
    for manifest in (lake / "memberships" / f"org_id={org}").glob("**/*.parquet"):
        manifest.unlink()


def add_clicks(lake: Path, org: str, contact_ids: list[str], now: dt.datetime) -> None:
    """New events land in the lake, as the event pipeline would write them: clicks on the launch link."""
    n = len(contact_ids)
    at = now - dt.timedelta(minutes=5)
    given = {
        "event_id": pa.array([f"demo-click-{i}" for i in range(n)]),
        "contact_id": pa.array(contact_ids),
        "event_type": pa.array(["email_clicked"] * n),
        "ts": pa.array([at] * n, pa.timestamp("us")),
        "channel": pa.array(["email"] * n),
        "link": pa.array([LAUNCH_LINK] * n),
        "url": pa.array([LAUNCH_LINK] * n),
    }
    arrays = [given[f.name].cast(f.type) if f.name in given else pa.nulls(n, f.type) for f in EVENTS_SCHEMA]
    folder = lake / "events" / f"org_id={org}" / f"dt={at.date().isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, schema=EVENTS_SCHEMA), folder / ADDED_EVENTS)


def first_evaluation(api: Client, segment: dict[str, Any]) -> dict[str, Any]:
    """Going live schedules the refresh, and the schedule's first run evaluates the segment: wait for it."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        latest = api("GET", f"/segments/{segment['id']}")["latest"]
        if latest:
            return dict(latest)
        time.sleep(0.2)
    raise SystemExit(f"demo: segment {segment['name']!r} was not evaluated by its schedule within 5 minutes")


def _history(api: Client, segment: dict[str, Any]) -> None:
    print(f"   {segment['name']}")
    print(f"     {'evaluated at':<21} {'members':>8} {'joined':>8} {'left':>8}")
    for row in reversed(api("GET", f"/segments/{segment['id']}/history")["history"]):
        print(f"     {row['at'][:19]:<21} {row['members']:>8,} {row['joined']:>8,} {row['left']:>8,}")


def living_segments(lake: Path, org: str) -> None:
    forget_earlier_runs(lake, org)
    stack = LocalStack(lake, port=free_port(), aws_port=free_port(), log_level="WARNING")
    stack.start()
    try:
        print(f"\n== Living segments, through the admin API of the local stack at http://127.0.0.1:{stack.port}")
        print(f"   (moto at {stack.endpoint}, deployed from template.yaml; `make serve` keeps one running)")
        api = Client(f"http://127.0.0.1:{stack.port}", org)
        clicked = api("POST", "/segments", {
            "name": "Clicked the launch link this week",
            "where": {"all": [{"kind": "activity", "event_type": "email_clicked", "filters": {"link": LAUNCH_LINK}, "window": {"last_days": 7}}]},
            "refresh": {"every": 1, "unit": "days"},
        })  # fmt: skip
        warm = api("POST", "/segments", {
            "name": "Warm leads in Warszawa",
            "where": {"all": [{"kind": "attribute", "field": "lead_score", "op": "gt", "value": 20},
                              {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]},
            "refresh": {"every": 1, "unit": "days"},
        })  # fmt: skip
        for segment in (clicked, warm):
            api("POST", f"/segments/{segment['id']}/go-live")
            evaluation = first_evaluation(api, segment)
            print(f"   POST /segments, POST .../go-live, first scheduled refresh: {segment['name']!r}: {evaluation['members']:,} members")
        # A segment built on the other two: by their stored membership, never by inlining their queries.
        to_nudge = api("POST", "/segments", {
            "name": "Warm leads in Warszawa who have not clicked",
            "where": {"all": [{"kind": "in_segment", "segment_id": warm["id"]}, {"kind": "not_in_segment", "segment_id": clicked["id"]}]},
            "refresh": {"every": 1, "unit": "days"},
        })  # fmt: skip
        api("POST", f"/segments/{to_nudge['id']}/go-live")
        first = first_evaluation(api, to_nudge)
        print(f"   {to_nudge['name']!r} (in_segment + not_in_segment): {first['members']:,} members")

        page = api("GET", f"/segments/{to_nudge['id']}/members?limit=1000")["members"]
        movers = [m["contact_id"] for m in page][: max(1, len(page) // 10)]
        now = stack.clock()
        add_clicks(lake, org, movers, now)
        print(f"\n   The lake changes: {len(movers):,} of them click the launch link ({ADDED_EVENTS} under events/dt={now.date()})")
        for segment in (clicked, warm, to_nudge):  # "refresh now", in dependency order
            evaluation = api("POST", f"/segments/{segment['id']}/evaluate")
            print(f"   POST /segments/{segment['id']}/evaluate: {evaluation['members']:,} members, +{evaluation['joined']:,} -{evaluation['left']:,} in {evaluation['elapsed_ms']:.0f} ms")
        print("\n   Each evaluation wrote only the difference to the stored membership (GET .../history):\n")
        for segment in (clicked, warm, to_nudge):
            _history(api, segment)
        print()
        for listed in api("GET", "/segments")["segments"]:
            latest = listed.get("latest") or {}
            print(f"   GET /segments: {listed['name']:<46} {listed['status']:<6} {latest.get('members', 0):>8,} members")
    finally:
        stack.stop()
