"""Console benchmark (`make bench`): how soon the segment editor shows live counts, and what the first load costs.

A local stack over a generated lake of 200,000 contacts (~4M events, bench-lake/console-200000, made once) and
the built console in Debian's Chromium (Playwright): the editor holds a four-criterion definition, and the
lead-score threshold is retyped again and again; each time the clock runs from the last keystroke to the
moment the total on the page shows the new count (checked against the engine's own count for that value).
The editor waits 250 ms after the last keystroke before it asks (debounce), so that is in every figure.
The target: within a second on this machine. Also printed: the JavaScript of the first load, gzipped
(budget 350 KB).

    make bench                            # everything
    .venv/bin/python bench/console.py     # this one
"""

from __future__ import annotations

import datetime as dt
import os
import re
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tern.engines.duckdb import DuckDBEngine
from tern.segments.definition import parse_definition
from tern.segments.evaluate import count
from tern_local.console import DIST, first_load_kb
from tern_local.demo_stack import free_port
from tern_local.generator import generate, print_progress
from tern_local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
CONTACTS = int(os.environ.get("BENCH_CONTACTS", "200000"))
LAKE = ROOT / "bench-lake" / f"console-{CONTACTS}"
ORG = "bench"
EDITS = int(os.environ.get("BENCH_RUNS", "12"))


def main() -> None:
    if not (DIST / "index.html").is_file():
        sys.exit("bench/console.py: the console is not built (make console)")
    kb, files = first_load_kb()
    print(f"first load: {kb:.1f} KB of JavaScript gzipped ({len(files)} files; budget 350 KB)")
    if not (LAKE / "contacts").is_dir():
        generate(LAKE, CONTACTS, 20, 365, ORG, seed=23, progress=print_progress)
        sys.stderr.write("\n")
    stack = LocalStack(LAKE, port=free_port(), aws_port=free_port(), log_level="WARNING")
    stack.start()
    engine = DuckDBEngine(LAKE)
    try:
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
            times = []
            for i in range(EDITS):
                threshold = 10 + 3 * i
                where = {"all": [
                    {"kind": "attribute", "field": "lead_score", "op": "gt", "value": threshold},
                    {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"},
                    {"not": {"kind": "activity", "event_type": "email_clicked", "window": {"last_days": 30}}},
                ]}  # fmt: skip
                expected = count(
                    parse_definition({"name": "b", "where": where}), engine, ORG, dt.datetime.now(dt.UTC).replace(tzinfo=None)
                ).total
                first.get_by_label("Value", exact=True).fill(str(threshold))
                typed = time.perf_counter()
                page.wait_for_function("([el, want]) => el.textContent === want && !document.body.textContent.includes('counting…')",
                                       arg=[total.element_handle(), f"{expected:,}"], timeout=60_000, polling="raf")  # fmt: skip
                times.append(time.perf_counter() - typed)
            browser.close()
    finally:
        stack.stop()
    warm = times[1:]  # the first count also warms DuckDB's file cache
    print(
        f"live count, {CONTACTS:,} contacts, 3 criteria and a not: last keystroke to the total shown "
        f"median {statistics.median(warm) * 1000:.0f} ms, max {max(warm) * 1000:.0f} ms over {len(warm)} edits "
        f"(first {times[0] * 1000:.0f} ms; 250 ms of it the editor's debounce)"
    )


if __name__ == "__main__":
    main()
