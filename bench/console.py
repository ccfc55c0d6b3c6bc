"""Console benchmark (`make bench`): how soon the segment editor shows live counts, and what the first load costs.

A local stack over a generated lake (bench-lake/console-<contacts>, made once: 20 events a contact over a year) and
the built console in Debian's Chromium (Playwright). The editor holds a definition of three criteria and a not, and
the lead-score threshold is retyped again and again; each time the clock runs from the last keystroke to the moment
the total on the page shows the new count (checked against the embedded engine's own count for that value). The
editor waits 250 ms after the last keystroke before it asks (debounce), so that is in every figure.

The counts come the way they come where Tern is deployed: the api function asks the preview function, which copies
the org's part of the lake from the lake bucket through S3's API (moto's S3 here, which presents the lake folder:
tern_local.lake_bucket) and runs DuckDB over its copy (tern.engines.quick). The first count is cold (the function
copies everything); the others are warm (it lists the bucket and reads nothing again). Printed per lake: cold, then
warm median and p95, and the bytes read from S3 per preview; then an estimate of the same in the cloud, from the
bytes read and the measured DuckDB time, with the figures it assumes named.

The target at 1M contacts / 20M events, warm: median <= 1 s and p95 <= 1.5 s from the last keystroke.

    make bench                                                  # everything (the console at 1M contacts)
    .venv/bin/python bench/console.py                           # this one
    BENCH_CONTACTS=1000000,10000000 .venv/bin/python bench/console.py   # and at 10M / 200M (~6 GB, generated once)
"""

from __future__ import annotations

import math
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from playwright.sync_api import sync_playwright

from tern.engines.duckdb import DuckDBEngine
from tern.engines.quick import Read
from tern.segments.definition import parse_definition
from tern.segments.evaluate import count
from tern_local.console import DIST, first_load_kb
from tern_local.demo_stack import free_port
from tern_local.generator import generate, print_progress
from tern_local.stack import REGION, LocalStack

ROOT = Path(__file__).resolve().parents[1]
SIZES = [int(n) for n in os.environ.get("BENCH_CONTACTS", "1000000").split(",")]
ORG = "bench"
EDITS = int(os.environ.get("BENCH_RUNS", "20"))
MB = 1_000_000

# The cloud estimate's assumptions (docs/DESIGN.md, "The quick path", says where each comes from).
LAMBDA_MB_S = 75.0  # a function's network from S3: AWS documents none; 600 Mbit/s is the low end measured by others
LIST_MS = 30.0  # one ListObjectsV2 page (1,000 keys): S3 documents small requests' latency as "tens of milliseconds"
CALLS_MS = 60.0  # API Gateway, the api function, and its synchronous Invoke of the preview function, together (assumed)
DEBOUNCE_MS = 250.0


@dataclass
class Figures:
    contacts: int
    events: int
    lake_bytes: int
    files: int
    cold_ms: float
    cold: Read | None
    warm_ms: list[float]
    warm: list[Read]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def lake_for(contacts: int) -> Path:
    lake = ROOT / "bench-lake" / f"console-{contacts}"
    if not (lake / "contacts").is_dir():
        sys.stderr.write(f"generating {contacts:,} contacts and ~{contacts * 20:,} events in {lake} (once)\n")
        generate(lake, contacts, 20, 365, ORG, seed=23, progress=print_progress)
        sys.stderr.write("\n")
    return lake


def measure(contacts: int) -> Figures:
    # The api function waits for the preview function 20 s, then counts through Athena while the copy runs on; here it
    # waits for the copy, so that the cold figure is the quick path's own (a copy of 10M contacts' lake takes longer).
    os.environ["TERN_PREVIEW_WAIT_SECONDS"] = "900"
    lake = lake_for(contacts)
    engine = DuckDBEngine(lake)
    events = int(engine.run(f"SELECT count(*) FROM events WHERE org_id = '{ORG}'").rows[0][0])
    # the stack's clock held still: the count each edit waits for is computed for the moment the preview counts at (on a
    # large lake, a "last 30 days" window's edge moves past events every second)
    stack = LocalStack(lake, port=free_port(), aws_port=free_port(), log_level="ERROR", time_scale=1e-9)
    stack.start()
    quick = stack.functions["PreviewFunction"].lake
    quick.copies.room = 0  # while the definition is built, counts come from Athena: the first count measured is a cold copy
    answered: list[Read] = []  # what each of the preview function's answers read
    answer = quick.answer

    def recorded(event: dict[str, Any]) -> dict[str, Any]:
        done: dict[str, Any] = answer(event)
        if done.get("read"):
            answered.append(Read.model_validate(done["read"]))
        return done

    quick.answer = recorded
    try:
        # moto's S3 takes the folder in on its first listing (tern_local.lake_bucket): done here, before the clock runs
        s3 = boto3.client("s3", endpoint_url=stack.endpoint, region_name=REGION)
        started = time.perf_counter()
        listed = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.resolver.names["LakeBucket"])
                  for o in page.get("Contents", [])]  # fmt: skip
        sys.stderr.write(f"the local S3 took in {len(listed):,} files in {time.perf_counter() - started:.1f} s\n")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{stack.port}/#/segments/new")
            page.get_by_label("Organisation").select_option(ORG)
            page.get_by_label("Criterion kind of 1").select_option("attribute")
            first = page.get_by_role("group", name="1: Attribute")
            first.get_by_label("Field", exact=True).select_option("lead_score")  # a number field: its value is a number
            first.get_by_label("Comparison", exact=True).select_option("gt")
            for _ in range(2):
                page.get_by_role("button", name="Add a criterion to Segment").click()
            page.get_by_role("group", name="2: Attribute").get_by_label("Value", exact=True).fill("Warszawa")
            page.get_by_label("Criterion kind of 3").select_option("activity")
            page.get_by_role("group", name=re.compile("^3: Activity")).get_by_label("Event type").fill("email_clicked")
            page.get_by_role("button", name="Negate 3").click()
            total = page.get_by_label("Total contacts")
            times, reads = [], []
            for i in range(EDITS + 1):
                threshold = 10 + 3 * i
                where = {"all": [
                    {"kind": "attribute", "field": "lead_score", "op": "gt", "value": threshold},
                    {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"},
                    {"not": {"kind": "activity", "event_type": "email_clicked", "window": {"last_days": 30}}},
                ]}  # fmt: skip
                expected = count(parse_definition({"name": "b", "where": where}), engine, ORG, stack.clock()).total
                quick.copies.room = 8192 * 1024 * 1024
                before = len(answered)
                first.get_by_label("Value", exact=True).fill(str(threshold))
                typed = time.perf_counter()
                page.wait_for_function("([el, want]) => el.textContent === want && !document.body.textContent.includes('counting…')",
                                       arg=[total.element_handle(), f"{expected:,}"], timeout=600_000, polling="raf")  # fmt: skip
                times.append((time.perf_counter() - typed) * 1000)
                mine = answered[before:]  # the preview's answer (and any other the edit asked for)
                reads.append(Read(files=mine[-1].files, bytes=mine[-1].bytes, fetched_files=sum(r.fetched_files for r in mine),
                                  fetched_bytes=sum(r.fetched_bytes for r in mine), removed_files=0,
                                  sync_ms=sum(r.sync_ms for r in mine), query_ms=sum(r.query_ms for r in mine)) if mine else None)  # fmt: skip
            browser.close()
    finally:
        stack.stop()
    size = sum(p.stat().st_size for p in lake.rglob("*.parquet") if ".scratch" not in p.parts)
    files = sum(1 for p in lake.rglob("*.parquet") if ".scratch" not in p.parts)
    warm = [r for r in reads[1:] if r is not None]
    return Figures(contacts, events, size, files, times[0], reads[0], times[1:], warm)


def report(all_figures: list[Figures]) -> None:
    print("\nlive count from the last keystroke to the total on the page (250 ms debounce included), through the S3 path:")
    print(f"{'contacts':>12} {'events':>12} {'lake':>9} {'files':>6} {'cold':>9} {'warm median':>12} {'warm p95':>9} "
          f"{'read from S3, cold':>19} {'read from S3 per warm preview':>30} {'DuckDB per warm preview':>24}")  # fmt: skip
    for f in all_figures:
        cold_read = f"{f.cold.fetched_bytes / MB:,.0f} MB" if f.cold else "(Athena)"
        fetched = statistics.median([r.fetched_bytes for r in f.warm]) if f.warm else float("nan")
        query = statistics.median([r.query_ms for r in f.warm]) if f.warm else float("nan")
        print(f"{f.contacts:>12,} {f.events:>12,} {f.lake_bytes / MB:>6,.0f} MB {f.files:>6,} {f.cold_ms / 1000:>7.1f} s "
              f"{statistics.median(f.warm_ms):>9.0f} ms {p95(f.warm_ms):>6.0f} ms {cold_read:>19} "
              f"{fetched:>23,.0f} bytes {query:>21.0f} ms")  # fmt: skip
    print(
        f"\nestimated in the cloud (not measured): warm = {CALLS_MS:.0f} ms of calls (API Gateway, the api function, its Invoke; assumed)"
        f" + {LIST_MS:.0f} ms per ListObjectsV2 page of 1,000 keys (S3: small requests take tens of ms) + bytes fetched at"
        f" {LAMBDA_MB_S:.0f} MB/s (a function's network from S3; AWS documents none, 600 Mbit/s is the low end others measured)"
        f" + DuckDB's time measured here (2 cores; the function has ~2.3 vCPUs at its 4,096 MB) + the {DEBOUNCE_MS:.0f} ms debounce;"
        " cold = the whole lake at that rate, then the same."
    )
    print(f"{'contacts':>12} {'warm median':>12} {'warm p95':>9} {'cold':>8}")
    for f in all_figures:
        if not f.warm:
            continue
        pages = math.ceil(f.files / 1000) + 3  # the events' pages, and one each for contacts, lists and the overlay
        warm = [CALLS_MS + LIST_MS * pages + r.fetched_bytes / (LAMBDA_MB_S * MB) * 1000 + r.query_ms + DEBOUNCE_MS for r in f.warm]
        cold = CALLS_MS + LIST_MS * pages + f.lake_bytes / (LAMBDA_MB_S * MB) * 1000 + max(r.query_ms for r in f.warm) + DEBOUNCE_MS
        print(f"{f.contacts:>12,} {statistics.median(warm):>9.0f} ms {p95(warm):>6.0f} ms {cold / 1000:>6.1f} s")
    if len(all_figures) > 1:
        a, b = all_figures[0], all_figures[-1]
        scale = b.contacts / a.contacts
        print(f"\nfrom {a.contacts:,} to {b.contacts:,} contacts ({scale:.0f}x): warm median x{statistics.median(b.warm_ms) / statistics.median(a.warm_ms):.1f}, "
              f"DuckDB x{statistics.median([r.query_ms for r in b.warm]) / max(1, statistics.median([r.query_ms for r in a.warm])):.1f}, "
              f"cold x{b.cold_ms / a.cold_ms:.1f}, lake x{b.lake_bytes / a.lake_bytes:.1f}")  # fmt: skip


def main() -> None:
    if not (DIST / "index.html").is_file():
        sys.exit("bench/console.py: the console is not built (make console)")
    kb, files = first_load_kb()
    print(f"first load: {kb:.1f} KB of JavaScript gzipped ({len(files)} files; budget 350 KB)")
    figures = []
    for contacts in SIZES:
        figures.append(measure(contacts))
        report(figures[-1:])
    if len(figures) > 1:
        report(figures)
    one_million = [f for f in figures if f.contacts == 1_000_000]
    for f in one_million:
        ok = statistics.median(f.warm_ms) <= 1000 and p95(f.warm_ms) <= 1500
        print(f"\n1M contacts, warm: median {statistics.median(f.warm_ms):.0f} ms (target 1,000), p95 {p95(f.warm_ms):.0f} ms (target 1,500): "
              + ("within" if ok else "OVER"))  # fmt: skip


if __name__ == "__main__":
    main()
