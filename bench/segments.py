"""Segment engine benchmark (`make bench`): figures, not pass/fail.

On a generated lake of 1M contacts / ~20M events (bench-lake/, made once and reused) it times, for the
same questions:
  - Tern: compile the definition and fetch the members through the DuckDB engine;
  - hand-written DuckDB SQL over the same Parquet files;
  - a straightforward pandas implementation;
and `count` with every per-criterion count against the total alone. Each figure is the median of
several runs after a warm-up; results of the three implementations are checked to agree.

    make bench                       # 1M contacts
    BENCH_CONTACTS=200000 make bench # smaller, quicker
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds

from tern.engines.duckdb import DuckDBEngine
from tern.segments.definition import parse_definition
from tern.segments.evaluate import count, members
from tern_local.generator import generate, print_progress

ROOT = Path(__file__).resolve().parents[1]
CONTACTS = int(os.environ.get("BENCH_CONTACTS", "1000000"))
LAKE = ROOT / "bench-lake" / f"{CONTACTS}"
NOW = dt.datetime(2026, 11, 22, 12, 0)
ORG = "bench"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
LAUNCH = "https://shop.example.com/new"


def ensure_lake() -> None:
    stamp = LAKE / "GENERATED.json"
    if stamp.exists():
        return
    started = time.perf_counter()
    written = generate(LAKE, CONTACTS, 20, 365, ORG, seed=11, now=NOW, progress=print_progress)
    sys.stderr.write("\n")
    elapsed = time.perf_counter() - started
    stamp.write_text(json.dumps({**written, "seconds": round(elapsed, 1)}))
    print(f"generated {written['contacts']:,} contacts / {written['events']:,} events in {elapsed:.1f} s")


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    run()  # warm-up: file metadata and OS cache
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def lit(ts: dt.datetime) -> str:
    return f"TIMESTAMP '{ts:%Y-%m-%d %H:%M:%S}'"


DAY = dt.timedelta(days=1)
SRC_C = f"read_parquet('{LAKE}/contacts/**/*.parquet', hive_partitioning = true)"
SRC_E = f"read_parquet('{LAKE}/events/**/*.parquet', hive_partitioning = true, hive_types = {{'org_id': 'VARCHAR', 'dt': 'VARCHAR'}})"

# ---- question 1: the 4-criterion segment (attribute, activity in a window, not an activity, recency)
FOUR = {"name": "four", "where": {"all": [
    {"kind": "attribute", "field": "lead_score", "op": "gt", "value": 20},
    {"kind": "activity", "event_type": "email_clicked", "filters": {"link": LAUNCH}, "window": {"last_days": 30}},
    {"not": {"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "hard"}}},
    {"kind": "recency", "event_types": ["page_view", "purchase"], "op": "within", "days": 60},
]}}  # fmt: skip
FOUR_SQL = f"""
SELECT c.contact_id FROM {SRC_C} c
WHERE c.org_id = '{ORG}' AND c.lead_score > 20
  AND c.contact_id IN (SELECT contact_id FROM {SRC_E} WHERE org_id = '{ORG}' AND dt >= '{(NOW - 30 * DAY).date()}'
      AND event_type = 'email_clicked' AND link = '{LAUNCH}' AND ts >= {lit(NOW - 30 * DAY)} AND ts <= {lit(NOW)})
  AND c.contact_id NOT IN (SELECT contact_id FROM {SRC_E} WHERE org_id = '{ORG}'
      AND event_type = 'email_bounced' AND bounce_type = 'hard')
  AND c.contact_id IN (SELECT contact_id FROM {SRC_E} WHERE org_id = '{ORG}' AND dt >= '{(NOW - 60 * DAY).date()}'
      AND event_type IN ('page_view', 'purchase') AND ts >= {lit(NOW - 60 * DAY)} AND ts <= {lit(NOW)})
ORDER BY c.contact_id
"""

# ---- question 2: inactive for 60 days, but did visit once
INACTIVE = {"name": "inactive", "where": {"all": [
    {"kind": "recency", "event_types": ["page_view", "search", "download", "form_submit", "email_clicked", "purchase"], "op": "not_within", "days": 60},
    {"kind": "activity", "event_type": "page_view"},
]}}  # fmt: skip
INACTIVE_SQL = f"""
SELECT c.contact_id FROM {SRC_C} c
WHERE c.org_id = '{ORG}'
  AND c.contact_id IN (SELECT contact_id FROM {SRC_E} WHERE org_id = '{ORG}' AND event_type = 'page_view')
  AND c.contact_id NOT IN (SELECT contact_id FROM {SRC_E} WHERE org_id = '{ORG}' AND dt >= '{(NOW - 60 * DAY).date()}'
      AND event_type IN ('page_view', 'search', 'download', 'form_submit', 'email_clicked', 'purchase')
      AND ts >= {lit(NOW - 60 * DAY)} AND ts <= {lit(NOW)})
ORDER BY c.contact_id
"""


# ---- question 3: measured criteria sharing one pass (sums, distinct counts, score change)
BIG = {"name": "big spenders", "where": {"all": [
    {"kind": "activity", "event_type": "purchase", "measure": "sum:amount", "op": "gte", "value": 500, "window": {"last_days": 180}},
    {"kind": "activity", "event_type": "purchase", "measure": "distinct:event_ref", "op": "gte", "value": 2, "window": {"last_days": 180}},
    {"kind": "score_change", "days": 30, "op": "gt", "value": 20},
]}}  # fmt: skip
BIG_SQL = f"""
SELECT c.contact_id FROM {SRC_C} c JOIN (
  SELECT contact_id FROM {SRC_E}
  WHERE org_id = '{ORG}' AND dt >= '{(NOW - 180 * DAY).date()}' AND dt <= '{NOW.date()}' AND ts >= {lit(NOW - 180 * DAY)} AND ts <= {lit(NOW)}
    AND (event_type = 'purchase' OR (score_delta IS NOT NULL AND ts >= {lit(NOW - 30 * DAY)}))
  GROUP BY contact_id
  HAVING SUM(amount) FILTER (WHERE event_type = 'purchase') >= 500
     AND COUNT(DISTINCT event_ref) FILTER (WHERE event_type = 'purchase') >= 2
     AND SUM(score_delta) FILTER (WHERE ts >= {lit(NOW - 30 * DAY)}) > 20
) e ON e.contact_id = c.contact_id
WHERE c.org_id = '{ORG}'
ORDER BY c.contact_id
"""


def pandas_big() -> list[str]:
    contacts = ds.dataset(LAKE / "contacts", format="parquet", partitioning="hive").to_table(columns=["contact_id", "org_id"]).to_pandas()
    events = ds.dataset(LAKE / "events", format="parquet", partitioning="hive").to_table(
        columns=["contact_id", "event_type", "ts", "amount", "event_ref", "score_delta", "org_id"]).to_pandas()  # fmt: skip
    contacts = contacts[contacts.org_id == ORG]
    events = events[(events.org_id == ORG) & (events.ts <= NOW)]
    bought = events[(events.event_type == "purchase") & (events.ts >= NOW - 180 * DAY)].groupby("contact_id")
    spent = bought.amount.sum()
    shows = bought.event_ref.nunique()
    rising = events[events.ts >= NOW - 30 * DAY].groupby("contact_id").score_delta.sum()
    chosen = set(spent[spent >= 500].index) & set(shows[shows >= 2].index) & set(rising[rising > 20].index)
    return sorted(contacts.contact_id[contacts.contact_id.isin(chosen)])


def pandas_four() -> list[str]:
    contacts = ds.dataset(LAKE / "contacts", format="parquet", partitioning="hive").to_table(
        columns=["contact_id", "lead_score", "org_id"]).to_pandas()  # fmt: skip
    events = ds.dataset(LAKE / "events", format="parquet", partitioning="hive").to_table(
        columns=["contact_id", "event_type", "ts", "link", "bounce_type", "org_id"]).to_pandas()  # fmt: skip
    contacts = contacts[contacts.org_id == ORG]
    events = events[events.org_id == ORG]
    in_30 = (events.ts >= NOW - 30 * DAY) & (events.ts <= NOW)
    in_60 = (events.ts >= NOW - 60 * DAY) & (events.ts <= NOW)
    clicked = set(events.contact_id[(events.event_type == "email_clicked") & (events.link == LAUNCH) & in_30])
    hard = set(events.contact_id[(events.event_type == "email_bounced") & (events.bounce_type == "hard")])
    recent = set(events.contact_id[events.event_type.isin(["page_view", "purchase"]) & in_60])
    chosen = contacts[(contacts.lead_score > 20) & contacts.contact_id.isin(clicked)
                      & ~contacts.contact_id.isin(hard) & contacts.contact_id.isin(recent)]  # fmt: skip
    return sorted(chosen.contact_id)


def pandas_inactive() -> list[str]:
    contacts = ds.dataset(LAKE / "contacts", format="parquet", partitioning="hive").to_table(columns=["contact_id", "org_id"]).to_pandas()
    events = ds.dataset(LAKE / "events", format="parquet", partitioning="hive").to_table(
        columns=["contact_id", "event_type", "ts", "org_id"]).to_pandas()  # fmt: skip
    contacts = contacts[contacts.org_id == ORG]
    events = events[events.org_id == ORG]
    viewed = set(events.contact_id[events.event_type == "page_view"])
    active = events.event_type.isin(["page_view", "search", "download", "form_submit", "email_clicked", "purchase"])
    recent = set(events.contact_id[active & (events.ts >= NOW - 60 * DAY) & (events.ts <= NOW)])
    chosen = contacts[contacts.contact_id.isin(viewed) & ~contacts.contact_id.isin(recent)]
    return sorted(chosen.contact_id)


def main() -> None:
    ensure_lake()
    engine = DuckDBEngine(LAKE)
    hand = duckdb.connect()
    hand.execute("SET TimeZone = 'UTC'")
    print(f"\nlake: {CONTACTS:,} contacts, {json.loads((LAKE / 'GENERATED.json').read_text())['events']:,} events; "
          f"{os.cpu_count()} cores; median of {RUNS} runs after a warm-up\n")  # fmt: skip
    rows = []
    for name, definition, sql, in_pandas in (
        ("4 criteria: attribute, activity 30d, not activity, recency", FOUR, FOUR_SQL, pandas_four),
        ("inactive 60 days, visited once", INACTIVE, INACTIVE_SQL, pandas_inactive),
        ("spent 500 and 2+ shows in 180d, score up 20 in 30d", BIG, BIG_SQL, pandas_big),
    ):
        model = parse_definition(definition)
        tern_ms, tern_ids = timed(lambda m=model: members(m, engine, ORG, NOW))  # type: ignore[misc]
        hand_ms, hand_rows = timed(lambda q=sql: hand.execute(q).fetchall())  # type: ignore[misc]
        pandas_ms, pandas_ids = timed(in_pandas)
        hand_ids = [r[0] for r in hand_rows]
        agree = tern_ids == hand_ids == pandas_ids
        rows.append((name, len(tern_ids), tern_ms, hand_ms, pandas_ms, agree))

    print(f"{'question':<58} {'members':>9} {'tern ms':>9} {'hand SQL':>9} {'pandas':>9} {'tern/hand':>9}  agree")
    for name, n, t, h, p, agree in rows:
        print(f"{name:<58} {n:>9,} {t:>9.0f} {h:>9.0f} {p:>9.0f} {t / h:>9.2f}x  {'yes' if agree else 'NO'}")

    print(f"\n{'count':<58} {'total':>9} {'all ms':>9} {'total ms':>9} {'ratio':>9}")
    for name, definition in (("4 criteria", FOUR), ("inactive 60 days", INACTIVE), ("big spenders", BIG)):
        model = parse_definition(definition)
        all_ms, full = timed(lambda m=model: count(m, engine, ORG, NOW))  # type: ignore[misc]
        total_ms, alone = timed(lambda m=model: count(m, engine, ORG, NOW, per_criterion=False))  # type: ignore[misc]
        assert full.total == alone.total
        print(f"{name + ' (per-criterion vs total only)':<58} {full.total:>9,} {all_ms:>9.0f} {total_ms:>9.0f} {all_ms / total_ms:>8.2f}x")
    if not all(r[-1] for r in rows):
        raise SystemExit("implementations disagree")


if __name__ == "__main__":
    main()
