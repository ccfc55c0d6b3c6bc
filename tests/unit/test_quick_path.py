"""The quick path (tern.engines.quick): the editor's statements run by the preview function's side over its copy of
the org's lake, read from S3 (moto's, in process) as the function reads it in the cloud.

- It counts what the reference evaluator and the embedded engine count, for the kinds that read more than contacts
  and events: segments of segments (the evaluation named, not another), imported lists, and the overlay of changes
  (tags, categories, consents), with the other kinds in test_cases.py.
- Its copy is kept in step with S3: a warm call reads nothing again; a new file, a replaced one (a new ETag) and a
  removed one change the copy and the counts; an UNLOAD's file without a suffix is read, one Athena skips is not.
- One org's statements cannot read another org's copy in the same /tmp, whatever they say.
- A lake larger than the room says so (NotQuick, too large), and the caller counts through Athena.
"""

from __future__ import annotations

import datetime as dt
import decimal
import fnmatch
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quick_lake import BUCKET, Quick, quick_lake
from tern.aws.lake_copy import prefixes
from tern.engines.duckdb import DuckDBEngine
from tern.engines.quick import decode, encode
from tern.errors import NotQuick, QueryError
from tern.segments.definition import parse_definition
from tern.segments.evaluate import count, members
from tern_local.generator import generate
from tern_local.template import template

from reference import Lake

NOW = dt.datetime(2026, 11, 22, 12, 0)
ORGS = ("acme", "globex")
EVALUATIONS = {"s-vip": "e2", "s-old": "e1"}


def _ids(n: int, step: int, start: int = 1) -> list[str]:
    return [f"c{i:07d}" for i in range(start, start + n * step, step)]


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _overlay(rows: list[tuple[str, str, str, str, str]]) -> pa.Table:
    """(contact, kind, value, action, changed_at) rows."""
    return pa.table({
        "contact_id": [r[0] for r in rows], "kind": [r[1] for r in rows], "value": [r[2] for r in rows],
        "action": [r[3] for r in rows], "changed_at": [dt.datetime.fromisoformat(r[4]) for r in rows], "source": ["bulk"] * len(rows),
    })  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    for seed, org in enumerate(ORGS, start=3):
        generate(root, contacts=300, events_per_contact=6, days=120, org=org, seed=seed, now=NOW)
    ids = pa.table({"contact_id": _ids(60, 3)})
    _write(root / "memberships/org_id=acme/segment_id=s-vip/evaluation_id=e1/part-0.parquet", pa.table({"contact_id": _ids(40, 2)}))
    _write(root / "memberships/org_id=acme/segment_id=s-vip/evaluation_id=e2/part-0.parquet", ids)  # the one named
    _write(root / "memberships/org_id=acme/segment_id=s-old/evaluation_id=e1/part-0.parquet", pa.table({"contact_id": _ids(90, 2)}))
    _write(root / "memberships/org_id=globex/segment_id=s-vip/evaluation_id=e2/part-0.parquet", pa.table({"contact_id": _ids(200, 1)}))
    _write(root / "lists/org_id=acme/list_id=l-fair/part-0.parquet", pa.table({"contact_id": _ids(50, 5, start=2)}))
    _write(root / "lists/org_id=globex/list_id=l-fair/part-0.parquet", pa.table({"contact_id": _ids(250, 1)}))
    _write(root / "overlay/org_id=acme/changes-0.parquet", _overlay([
        *[(c, "tag", "vip", "add", "2026-11-01T10:00:00") for c in _ids(30, 7)],
        *[(c, "tag", "vip", "remove", "2026-11-02T10:00:00") for c in _ids(10, 14)],  # removed after being added
        *[(c, "consent", "email_marketing", "remove", "2026-11-03T10:00:00") for c in _ids(40, 4)],
        *[(c, "consent", "email_marketing", "add", "2026-11-05T10:00:00") for c in _ids(10, 16)],  # given back later
        *[(c, "category", "opera", "add", "2026-11-04T10:00:00") for c in _ids(25, 9)],
    ]))  # fmt: skip
    return root


@pytest.fixture(scope="module")
def quick(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quick]:
    with quick_lake(lake, tmp_path_factory.mktemp("copies")) as made:
        yield made


CASES: dict[str, dict[str, Any]] = {
    "in segment": {"kind": "in_segment", "segment_id": "s-vip"},
    "not in segment": {"kind": "not_in_segment", "segment_id": "s-vip"},
    "in two segments": {"all": [{"kind": "in_segment", "segment_id": "s-vip"}, {"kind": "in_segment", "segment_id": "s-old"}]},
    "in list": {"kind": "in_list", "list_id": "l-fair"},
    "not in list": {"not": {"kind": "in_list", "list_id": "l-fair"}},
    "tag added by the overlay": {"kind": "tags", "op": "has_any", "values": ["vip"]},
    "consent withdrawn, some given back": {"kind": "consents", "op": "has_none", "values": ["email_marketing"]},
    "category added": {"kind": "categories", "op": "has_all", "values": ["opera"]},
    "all of them": {
        "any": [
            {"all": [{"kind": "in_segment", "segment_id": "s-vip"}, {"kind": "tags", "op": "has_any", "values": ["vip"]}]},
            {"all": [{"kind": "in_list", "list_id": "l-fair"}, {"kind": "consents", "op": "has_all", "values": ["email_marketing"]}]},
        ]
    },
}


def _definition(where: dict[str, Any]) -> dict[str, Any]:
    return {"name": "case", "where": where if any(k in where for k in ("all", "any", "not")) else {"all": [where]}}


@pytest.mark.parametrize("name", list(CASES))
def test_segments_lists_and_the_overlay_count_alike_on_every_path(name: str, lake: Path, quick: Quick) -> None:
    reference, embedded = Lake(lake), DuckDBEngine(lake)
    definition = _definition(CASES[name])
    model = parse_definition(definition)
    for org in ORGS:
        evaluations = EVALUATIONS if org == "acme" else {"s-vip": "e2", "s-old": "none"}
        expected = reference.members(definition, org, NOW, evaluations)
        assert set(members(model, embedded, org, NOW, memberships=evaluations)) == expected
        got = members(model, quick.engine(org, evaluations), org, NOW, memberships=evaluations)
        assert set(got) == expected, (
            f"{org}: quick-only {sorted(set(got) - expected)[:5]}, reference-only {sorted(expected - set(got))[:5]}"
        )
    assert 0 < len(reference.members(definition, "acme", NOW, EVALUATIONS)) < len(reference.contacts["acme"]), (
        f"{name} does not discriminate"
    )


def test_the_copy_follows_s3_and_a_warm_call_reads_nothing_again(lake: Path, quick: Quick) -> None:
    everyone = parse_definition(_definition({"kind": "in_list", "list_id": "l-new"}))
    engine = quick.engine("acme")
    assert count(everyone, engine, "acme", NOW).total == 0
    count(everyone, engine, "acme", NOW)
    assert engine.read is not None and (engine.read.fetched_files, engine.read.fetched_bytes) == (0, 0)  # warm: listed only

    def put(key: str, contacts: list[str]) -> None:
        body = io.BytesIO()
        pq.write_table(pa.table({"contact_id": contacts}), body)
        quick.s3.put_object(Bucket=BUCKET, Key=key, Body=body.getvalue())

    put("lists/org_id=acme/list_id=l-new/part-0.parquet", _ids(7, 1))  # a new file
    assert count(everyone, engine, "acme", NOW).total == 7
    assert engine.read is not None and engine.read.fetched_files == 1
    put("lists/org_id=acme/list_id=l-new/part-0.parquet", _ids(9, 1))  # replaced: a new ETag
    assert count(everyone, engine, "acme", NOW).total == 9
    put("lists/org_id=acme/list_id=l-new/20261122_000000_00000_x", _ids(2, 1, start=100))  # an UNLOAD's file: no suffix
    put("lists/org_id=acme/list_id=l-new/_SUCCESS", [])  # Athena skips names starting with _ (and .)
    assert count(everyone, engine, "acme", NOW).total == 11
    quick.s3.delete_object(Bucket=BUCKET, Key="lists/org_id=acme/list_id=l-new/part-0.parquet")
    assert count(everyone, engine, "acme", NOW).total == 2
    assert engine.read is not None and engine.read.removed_files == 1


def test_one_orgs_statements_cannot_read_another_orgs_copy(quick: Quick) -> None:
    count(parse_definition(_definition({"kind": "gender", "value": "female"})), quick.engine("globex"), "globex", NOW)
    root = quick.lake.copies.root  # type: ignore[attr-defined]
    assert (root / "globex" / "contacts").is_dir()  # globex's copy is there, beside acme's
    for sql in (
        f"SELECT count(*) FROM read_parquet('{root / 'globex'}/contacts/**/*.parquet')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
    ):
        with pytest.raises(QueryError):
            quick.lake.answer({"org_id": "acme", "statements": [sql]})


def test_a_lake_larger_than_the_room_is_not_quick(lake: Path, tmp_path: Path) -> None:
    with quick_lake(lake, tmp_path, room=100_000) as small:
        with pytest.raises(NotQuick) as refused:
            count(parse_definition(_definition({"kind": "gender", "value": "female"})), small.engine("acme"), "acme", NOW)
        assert refused.value.too_large and "more than the 100,000" in str(refused.value)
        assert not (tmp_path / "acme" / "contacts").exists()  # nothing copied that could not all fit


def test_a_bad_request_is_refused_by_name(quick: Quick) -> None:
    for event in (
        {"org_id": "../x", "statements": ["SELECT 1"]},
        {"org_id": "..", "statements": ["SELECT 1"]},
        {"org_id": "acme", "statements": []},
        {"org_id": "acme"},
    ):
        with pytest.raises(QueryError, match="not a quick request"):
            quick.lake.answer(event)


def test_values_cross_the_wire_as_duckdb_gave_them() -> None:
    values = [None, True, 3, "x", 1.5, float("inf"), dt.date(2026, 1, 2), dt.datetime(2026, 1, 2, 3, 4, 5, 6000),
              ["a", None], {"k": "v"}, decimal.Decimal("1.50")]  # fmt: skip
    assert decode(json.loads(json.dumps(encode(values)))) == values


def test_every_prefix_the_copy_lists_is_one_its_role_may_list() -> None:
    """The local IAM check does not evaluate conditions; AWS does: the preview function's s3:ListBucket holds only for
    a request's Prefix matching its `s3:prefix` StringLike patterns, so each prefix listed is held to them here."""
    statements = template()["Resources"]["PreviewFunction"]["Properties"]["Policies"][0]["Statement"]
    (listing,) = [s for s in statements if s["Action"] == ["s3:ListBucket"]]
    allowed = listing["Condition"]["StringLike"]["s3:prefix"]
    for prefix in prefixes("acme", {"s-vip": "e2"}):
        assert any(fnmatch.fnmatchcase(prefix, pattern) for pattern in allowed), prefix
