"""`make demo`: a demo lake, the example segments evaluated on it (counts per node, timings, sample members),
then segments as living things through the admin API of the local stack (live, refreshed, joined and left),
the classic journey, and acting on its outcome.

The demo never changes the lake it reads: the local stack works on a copy (DIR-run, made again on every
run), and the clock is pinned to the moment the lake was generated (GENERATED.json), so two runs in a row
print the same counts and the README's commands on the same lake give the same numbers."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

from tern.engines.duckdb import DuckDBEngine
from tern.segments.definition import parse_definition_json
from tern.segments.evaluate import Counts, count, members
from tern_local.demo_stack import classic_journey, living_segments
from tern_local.generator import generate, print_progress

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "segments"
ORG = "demo"
SEED = 42


def _lake(out: Path, contacts: int) -> dt.datetime:
    """The demo lake (made if missing or of another size) and the moment it was made: the demo's pinned now."""
    stamp = out / "GENERATED.json"
    wanted = {"contacts": contacts, "org": ORG, "seed": SEED}
    if stamp.exists():
        found = json.loads(stamp.read_text())
        if {k: found.get(k) for k in wanted} == wanted and "now" in found:
            print(f"demo lake: {out} (reused: {contacts:,} contacts; the clock pinned to {found['now']}, when it was made)")
            return dt.datetime.fromisoformat(found["now"])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    print(f"demo lake: generating {contacts:,} contacts with about 20 events each into {out}")
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    written = generate(out, contacts, 20, 365, ORG, seed=SEED, now=now, progress=print_progress)
    sys.stderr.write("\n")
    stamp.write_text(json.dumps({**wanted, "now": now.isoformat()}))
    print(f"demo lake: {written['contacts']:,} contacts, {written['events']:,} events in {time.perf_counter() - started:.1f} s")
    return now


def working_copy(lake: Path) -> Path:
    """A fresh copy of the lake for the local stack to write into (hard links: Tern adds files, never edits one)."""
    run = lake.with_name(lake.name + "-run")
    shutil.rmtree(run, ignore_errors=True)
    for source in lake.rglob("*"):
        target = run / source.relative_to(lake)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
    return run


def _print_nodes(counts: Counts) -> None:
    for node in counts.nodes:
        depth = node.path.count(".")
        label = {"all": "all of", "any": "any of", "not": "not: keeps"}.get(node.kind, node.kind)
        print(f"     {'  ' * depth}{node.path.rsplit('.', 1)[-1]:<{30 - 2 * depth}} {label:<14} {node.count:>9,}")


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--out", default=str(ROOT / "demo-lake"))
    args.add_argument("--contacts", type=int, default=200_000)
    options = args.parse_args()
    out = Path(options.out)
    now = _lake(out, options.contacts)
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
        print(f"   members: {counts.total:,}   counted with every node in {elapsed:.0f} ms; each node alone:")
        _print_nodes(counts)
        if sample:
            quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in sample)
            for row in engine.run(contact_rows.format(quoted) + " ORDER BY contact_id").rows:
                print(
                    f"     e.g. {row[0]}  {row[1] or '?':<10} {row[2] or '(no city)':<10} lead score {row[3] if row[3] is not None else '?'}"
                )
    run = working_copy(out)
    vips = living_segments(run, ORG, now)
    classic_journey(run, ORG, vips, now)
    print(f"\nThe local stack worked on {run}/ (a copy of {out}/ made for this run: the clicks, journey events,")
    print(f"memberships and exports it wrote are there); {out}/ is as it was. Counts above were taken at {now:%Y-%m-%d %H:%M:%S} UTC.")
    print(
        f"\nTry one yourself: .venv/bin/tern segment count examples/segments/hot-leads-warsaw.json --data {out} --org {ORG} --now {now:%Y-%m-%dT%H:%M:%S}Z"
    )
    print(f"or the admin API: .venv/bin/tern serve --data {out}, then")
    print("  curl -s -H 'X-Tern-Org: demo' -H 'Content-Type: application/json' localhost:8000/segments")


if __name__ == "__main__":
    main()
