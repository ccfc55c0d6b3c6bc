"""The `tern` command as a user runs it: real processes, real files, machine-readable output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERN = [sys.executable, "-m", "tern_local.cli"]
HOT_LEADS = ROOT / "examples" / "segments" / "hot-leads-warsaw.json"
NOW = "2026-11-22T12:00:00Z"


def tern(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TERN, *args], capture_output=True, text=True, input=stdin, timeout=300)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-lake")
    for org, seed in (("acme", "3"), ("globex", "4")):
        done = tern("data", "generate", "--out", str(root), "--contacts", "2000", "--events-per-contact", "10",
                    "--days", "120", "--org", org, "--seed", seed, "--now", NOW)  # fmt: skip
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert summary["contacts"] == 2000 and 15_000 < summary["events"] < 25_000
        assert "events: day" in done.stderr  # progress
    return root


def test_generate_writes_the_documented_layout(lake: Path) -> None:
    assert (lake / "contacts" / "org_id=acme").is_dir()
    days = sorted(p.name for p in (lake / "events" / "org_id=acme").iterdir())
    assert days[0] == "dt=2026-07-25" and days[-1] == "dt=2026-11-22"


def test_count_prints_total_and_every_criterion(lake: Path) -> None:
    done = tern("segment", "count", str(HOT_LEADS), "--data", str(lake), "--org", "acme", "--now", NOW)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"total", "criteria", "nodes", "elapsed_ms"}
    assert [(c["path"], c["kind"]) for c in result["criteria"]] == [
        ("where.all[0]", "attribute"), ("where.all[1]", "attribute"),
        ("where.all[2]", "activity"), ("where.all[3].not", "activity"),
    ]  # fmt: skip
    assert all(c["count"] >= result["total"] for c in result["criteria"][:3])
    assert result["elapsed_ms"] > 0


def test_members_prints_one_id_a_line_and_agrees_with_count(lake: Path) -> None:
    counted = json.loads(tern("segment", "count", str(HOT_LEADS), "--data", str(lake), "--org", "acme", "--now", NOW).stdout)
    listed = tern("segment", "members", str(HOT_LEADS), "--data", str(lake), "--org", "acme", "--now", NOW)
    ids = listed.stdout.splitlines()
    assert len(ids) == counted["total"] > 0
    assert ids == sorted(ids) and all(i.startswith("c") for i in ids)
    limited = tern("segment", "members", str(HOT_LEADS), "--data", str(lake), "--org", "acme", "--now", NOW, "--limit", "2")
    assert limited.stdout.splitlines() == ids[:2]


def test_definition_from_stdin(lake: Path) -> None:
    done = tern("segment", "count", "-", "--data", str(lake), "--org", "globex", "--now", NOW,
                stdin='{"name": "all", "where": {"all": []}}')  # fmt: skip
    assert json.loads(done.stdout)["total"] == 2000


def test_sql_prints_athena_and_duckdb_statements() -> None:
    athena = tern("segment", "sql", str(HOT_LEADS), "--now", NOW, "--org", "acme", "--database", "tern")
    assert athena.returncode == 0 and "FROM tern.events" in athena.stdout and "org_id = 'acme'" in athena.stdout
    duck = tern("segment", "sql", str(HOT_LEADS), "--dialect", "duckdb", "--now", NOW, "--count")
    assert duck.returncode == 0 and "COUNT_IF" in duck.stdout


def test_schema_is_json_schema() -> None:
    schema = json.loads(tern("segment", "schema").stdout)
    assert schema["title"] == "SegmentDefinition" and "where" in schema["properties"]
    journey = json.loads(tern("journey", "schema").stdout)
    assert journey["title"] == "JourneyDefinition" and "steps" in journey["properties"]
    assert {"split", "multi_split", "random_split", "holdout"} <= {
        d["properties"]["kind"]["const"]
        for d in journey["$defs"].values()
        if "kind" in d.get("properties", {}) and "const" in d["properties"]["kind"]
    }


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["segment", "count", "-", "--org", "acme", "--now", NOW],
            '{"name": "x", "where": {"all": [{"kind": "attribute", "field": "lead_score", "op": "gt", "value": "hot"}]}}',
            "invalid definition: where.all[0].value: expected a number",
        ),
        (["segment", "count", "-", "--org", "acme"], "{not json", "invalid definition: not valid JSON"),
        (["segment", "count", "/nonexistent/def.json", "--org", "acme"], None, "cannot read /nonexistent/def.json"),
        (["segment", "count", str(HOT_LEADS), "--org", "initech"], None, "no contacts for org 'initech'"),
        (["segment", "count", str(HOT_LEADS), "--org", "acme", "--now", "next tuesday"], None, "--now: not an ISO date-time"),
        (["segment", "members", str(HOT_LEADS), "--org", "acme", "--limit", "-1"], None, "--limit: must be 0 or more"),
        (
            ["segment", "count", "-", "--org", "acme"],
            '{"name": "x", "where": {"all": [{"kind": "in_segment", "segment_id": "s1"}]}}',
            "segment s1 has no stored membership to read",
        ),
    ],
)
def test_user_errors_are_one_line_on_stderr(lake: Path, args: list[str], stdin: str | None, message: str) -> None:
    done = tern(*args, "--data", str(lake), stdin=stdin)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"tern: {message}"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_missing_lake_is_a_clear_error(tmp_path: Path) -> None:
    done = tern("segment", "count", str(HOT_LEADS), "--data", str(tmp_path / "nowhere"), "--org", "acme")
    assert done.returncode == 2 and done.stderr.startswith("tern: no contacts dataset at")
