"""`make demo`: a demo lake, the example segments evaluated on it (counts, timings, sample members), then
segments as living things through the admin API of the local stack (live, refreshed, joined and left)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from tern.engines.duckdb import DuckDBEngine
from tern.segments.definition import parse_definition_json
from tern.segments.evaluate import count, members
from tern_local.demo_stack import classic_journey, living_segments
from tern_local.generator import generate, print_progress

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "segments"
ORG = "demo"


def _lake(out: Path, contacts: int, now: dt.datetime) -> None:
    stamp = out / "GENERATED.json"
    wanted = {"contacts": contacts, "day": now.date().isoformat(), "org": ORG}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        print(f"demo lake: {out} (reused: {contacts:,} contacts, generated today)")
        return
    print(f"demo lake: generating {contacts:,} contacts with about 20 events each into {out}")
    started = time.perf_counter()
    written = generate(out, contacts, 20, 365, ORG, seed=42, now=now, progress=print_progress)
    sys.stderr.write("\n")
    stamp.write_text(json.dumps(wanted))
    print(f"demo lake: {written['contacts']:,} contacts, {written['events']:,} events in {time.perf_counter() - started:.1f} s")


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--out", default=str(ROOT / "demo-lake"))
    args.add_argument("--contacts", type=int, default=200_000)
    options = args.parse_args()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    out = Path(options.out)
    _lake(out, options.contacts, now)
    engine = DuckDBEngine(out)
    contact_rows = "SELECT contact_id, first_name, city, lead_score FROM contacts WHERE org_id = 'demo' AND contact_id IN ({})"

    for path in sorted(EXAMPLES.glob("*.json")):
        definition = parse_definition_json(path.read_text())
        started = time.perf_counter()
        counts = count(definition, engine, ORG, now)
        elapsed = (time.perf_counter() - started) * 1000
        sample = members(definition, engine, ORG, now, limit=3)
        print(f"\n== {definition.name}  ({path.name})")
        print(f"   {definition.description}")
        print(f"   members: {counts.total:,}   counted with every criterion in {elapsed:.0f} ms")
        for c in counts.criteria:
            print(f"     {c.path:<28} {c.kind:<14} alone: {c.count:>9,}")
        if sample:
            quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in sample)
            for row in engine.run(contact_rows.format(quoted) + " ORDER BY contact_id").rows:
                print(f"     e.g. {row[0]}  {row[1] or '?':<10} {row[2] or '(no city)':<10} lead score {row[3] if row[3] is not None else '?'}")
    vips = living_segments(out, ORG)
    classic_journey(out, ORG, vips)
    print(f"\nTry one yourself: .venv/bin/tern segment count examples/segments/hot-leads-warsaw.json --data {out} --org {ORG}")
    print(f"or the admin API: .venv/bin/tern serve --data {out}, then")
    print("  curl -s -H 'X-Tern-Org: demo' -H 'Content-Type: application/json' localhost:8000/segments")


if __name__ == "__main__":
    main()
