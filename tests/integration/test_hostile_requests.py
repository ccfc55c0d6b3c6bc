"""Hostile and careless input through the running local stack (real HTTP) and the CLI: each class of input gets a
clear 4xx in the one error shape ({"message", "problems"?}) or exit 2 with one line on stderr, and nothing is
stored half-way (the org's lists of segments, journeys and content are unchanged after every refusal).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack_client import http, local_stack, ok
from tern_local.generator import generate
from tern_local.stack import LocalStack

TERN = [sys.executable, "-m", "tern_local.cli"]
CITY = {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = CITY
    for _ in range(depth):
        node = {"not": node}
    return node


# (what, where-tree or whole definition, the status, a fragment of the message)
DEFINITIONS = [
    ("nested too deep", {"name": "deep", "where": _nested(40)}, 400, "groups nest at most 10 deep"),
    ("nested past the JSON parser", "deeper", 400, "nest"),
    ("too many criteria", {"name": "many", "where": {"any": [CITY] * 201}}, 400, "at most 200"),
    ("too many values", {"name": "v", "where": {"kind": "tags", "op": "has_any", "values": ["x"] * 1001}}, 400, "at most 1000"),
    ("too large", {"name": "big", "where": {"kind": "tags", "op": "has_any", "values": ["x" * 900] * 80}}, 413, "65,536 bytes"),
    ("year 1", {"name": "d", "where": {"kind": "attribute", "field": "birth_date", "op": "gt", "value": "0001-01-01"}}, 400, "1800-01-01"),
    ("year 9999 with an offset", {"name": "d", "where": {"kind": "attribute", "field": "created_at", "op": "gt", "value": "9999-12-31T23:00:00-05:00"}}, 400, "2199-12-31"),
    ("a window at the end of time", {"name": "d", "where": {"kind": "activity", "event_type": "purchase", "window": {"between": ["9999-12-31", "9999-12-31"]}}}, 400, "2199-12-31"),
    ("a number as a date", {"name": "d", "where": {"kind": "activity", "event_type": "purchase", "window": {"between": [20200101, 20200102]}}}, 400, "expected a date YYYY-MM-DD, got 20200101"),
    ("true as a number", {"name": "d", "where": {"kind": "activity", "event_type": "purchase", "value": True}}, 400, "expected a number, got true"),
    ("an empty node", {"name": "d", "where": {}}, 400, 'expected a criterion with a "kind"'),
    ("an object as a value", {"name": "d", "where": {**CITY, "value": {"a": 1}}}, 400, "expected text, a number or true/false"),
    ("a control character in a value", {"name": "d", "where": {**CITY, "value": "War\u0007szawa"}}, 400, "control characters"),
    ("NUL in a tag", {"name": "d", "where": {"kind": "tags", "op": "has_any", "values": ["vip\u0000"]}}, 400, "control characters"),
    ("a line break in a name", {"name": "two\nlines", "where": CITY}, 400, "name: must not contain control characters"),
]  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root: Path = tmp_path_factory.mktemp("hostile-lake")
    generate(root, contacts=300, events_per_contact=4, days=30, org="acme", seed=5)
    return root


@pytest.fixture(scope="module")
def stack(lake: Path) -> Iterator[LocalStack]:
    with local_stack(lake) as running:
        yield running


def _stored(stack: LocalStack) -> tuple[int, int, int]:
    segments = ok(stack, "GET", "/segments?include_deleted=true")["segments"]
    journeys = ok(stack, "GET", "/journeys")["journeys"]
    content = ok(stack, "GET", "/content")["content"]
    return len(segments), len(journeys), len(content)


def _refused(stack: LocalStack, method: str, path: str, body: Any, status: int, fragment: str, raw: str | None = None) -> dict[str, Any]:
    before = _stored(stack)
    got, answer = http(stack, method, path, body, raw=raw)
    assert got == status, (path, got, answer)
    assert isinstance(answer, dict) and set(answer) <= {"message", "problems"} and fragment in answer["message"], answer
    assert _stored(stack) == before, "a refused request stored something"
    return answer


@pytest.mark.parametrize(("what", "definition", "status", "fragment"), DEFINITIONS, ids=[d[0] for d in DEFINITIONS])
def test_a_bad_definition_is_refused_by_the_api_and_the_cli(
    stack: LocalStack, lake: Path, tmp_path: Path, what: str, definition: Any, status: int, fragment: str
) -> None:
    # deeper than Python's JSON encoder (and decoder) can go: written out by hand
    raw = (
        json.dumps(definition) if definition != "deeper" else '{"name": "d", "where": ' + '{"not": ' * 5000 + json.dumps(CITY) + "}" * 5001
    )
    _refused(stack, "POST", "/segments", None, status, fragment, raw=raw)
    _refused(stack, "POST", "/segments/preview", None, status, fragment, raw=raw.replace(', "refresh": "once"', ""))
    file = tmp_path / "definition.json"
    file.write_text(raw)
    done = subprocess.run(
        [*TERN, "segment", "count", str(file), "--data", str(lake), "--org", "acme"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("tern: ") and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert fragment in done.stderr or status == 413 and "bytes" in done.stderr


def test_everything_stored_can_be_read_listed_and_deleted(stack: LocalStack) -> None:
    """The largest definition the limits allow round-trips: read, list, preview, delete."""
    values = ["v" * 60] * 1000  # ~63 KB, just under the size limit
    deepest = _nested(9)
    body = {"name": "At the limits", "where": {"all": [deepest, {"kind": "tags", "op": "has_any", "values": values}]}}
    assert len(json.dumps(body, separators=(",", ":"))) < 65536
    status, created = http(stack, "POST", "/segments", body)
    assert status == 201, created
    assert ok(stack, "GET", f"/segments/{created['id']}")["where"] == body["where"]
    assert created["id"] in [s["id"] for s in ok(stack, "GET", "/segments")["segments"]]
    assert ok(stack, "POST", "/segments/preview", body)["total"] == 0
    assert ok(stack, "DELETE", f"/segments/{created['id']}")["status"] == "deleted"


JOURNEY = {
    "name": "Edges", "audience": "nobody", "start": "wait",
    "steps": [{"id": "wait", "kind": "wait_for", "duration": "P1D", "next": "end"}, {"id": "end", "kind": "end"}],
}  # fmt: skip


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        ({"id": "wait", "kind": "wait_for", "duration": "P400D", "next": "end"}, "at most 365 days"),
        ({"id": "wait", "kind": "wait_for", "duration": "PT99999999999999S", "next": "end"}, "too large"),
        ({"id": "wait", "kind": "wait_for", "duration": 86400, "next": "end"}, "expected ISO 8601 text"),
        ({"id": "wait", "kind": "wait_until", "at": 0, "next": "end"}, "expected ISO 8601 text"),
        ({"id": "wait", "kind": "wait_until", "at": "9999-12-31T23:00:00-05:00", "next": "end"}, "2199-12-31"),
        ({"id": "wait", "kind": "wait_until", "at": "0001-01-01T00:30:00+01:00", "next": "end"}, "1800-01-01"),
        (
            {"id": "wait", "kind": "update_contact", "field": "tags", "action": "add", "value": "vip\u001b[31m", "next": "end"},
            "control characters",
        ),
    ],
)
def test_a_journey_at_the_edges_is_refused_when_saved(stack: LocalStack, step: dict[str, Any], fragment: str) -> None:
    _refused(stack, "POST", "/journeys", {**JOURNEY, "steps": [step, JOURNEY["steps"][1]]}, 400, fragment)


def test_a_path_longer_than_an_execution_may_run_is_refused_at_publish(stack: LocalStack) -> None:
    steps = [
        {"id": "wait", "kind": "wait_for", "duration": "P200D", "next": "again"},
        {"id": "again", "kind": "wait_for", "duration": "P200D", "next": "end"},
        {"id": "end", "kind": "end"},
    ]
    status, journey = http(stack, "POST", "/journeys", {**JOURNEY, "steps": steps})
    assert status == 201, journey
    answer = _refused(stack, "POST", f"/journeys/{journey['id']}/publish", None, 400, "at most 365 days")
    assert {"path": "steps[1]", "message": answer["problems"][0]["message"]} in answer["problems"]
    assert ok(stack, "GET", f"/journeys/{journey['id']}")["status"] == "draft"


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/content", {"name": "bell\u0007", "channel": "sms", "text": "hi"}, "control characters"),
        ("/content", {"name": "ok", "channel": "sms", "subject": "a\rb", "text": "hi"}, "control characters"),
        ("/content", {"name": "ok", "channel": "email", "body": "\u0000"}, "control characters"),
    ],
)
def test_control_characters_are_refused_in_content(stack: LocalStack, path: str, body: dict[str, Any], fragment: str) -> None:
    _refused(stack, "POST", path, body, 400, fragment)


def test_content_over_what_an_item_holds_is_413(stack: LocalStack) -> None:
    _refused(stack, "POST", "/content", {"name": "big", "channel": "email", "body": "\U0001f99c" * 100_000}, 413, "bytes")


def test_control_characters_are_refused_in_list_names_and_bulk_actions(stack: LocalStack) -> None:
    _refused(stack, "POST", "/lists?name=bad%00name", None, 400, "control characters", raw="contact_id\nc0000001\n")
    status, segment = http(stack, "POST", "/segments", {"name": "Warsaw", "where": CITY})
    assert status == 201
    got, answer = http(stack, "POST", f"/segments/{segment['id']}/actions", {"kind": "tags", "value": "vip\u0000", "action": "add"})
    assert got == 400 and "control characters" in answer["message"], answer


def test_a_body_over_the_limit_is_413_before_it_is_read(stack: LocalStack) -> None:
    _refused(stack, "POST", "/segments", None, 413, "the limit is 6,000,000 bytes", raw=" " * 6_000_001)


@pytest.mark.parametrize(
    ("method", "path", "fragment"),
    [
        ("GET", "/segments?include_deleted=", "query parameter include_deleted: blank"),
        ("POST", "/imports/pinpoint?dry_run=", "query parameter dry_run: blank"),
        ("POST", "/imports/pinpoint?dry_run=true&dry_run=false", "query parameter dry_run: given 2 times"),
        ("GET", "/journeys?limit=5&limit=", "query parameter limit: given 2 times"),
    ],
)
def test_blank_or_repeated_query_parameters_are_refused_by_name(stack: LocalStack, method: str, path: str, fragment: str) -> None:
    """API Gateway passes `?a=` and `?a=1&a=2` on as they are; read as absent or as one of the values, they would
    quietly mean something else (a dry run that writes)."""
    answer = _refused(stack, method, path, {"Segment": {}}, 400, fragment)
    assert answer["problems"][0]["path"].startswith("query.")


def test_an_import_with_no_document_is_refused(stack: LocalStack) -> None:
    _refused(stack, "POST", "/imports/pinpoint", None, 400, "no Pinpoint document", raw="[]")
    _refused(stack, "POST", "/imports/pinpoint", None, 400, "no Pinpoint document", raw="\n")


def _raw(
    stack: LocalStack, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.port}{path}", data=body, method=method, headers={"X-Tern-Org": "acme", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "fragment"),
    [
        ("GET", "/segments/x/nowhere", {}, 404, "there is no route GET /segments/x/nowhere"),
        ("POST", "/nowhere", {}, 403, "the console's files take GET and HEAD only"),
        ("GET", "/nowhere", {}, 404, "no file /nowhere in the console"),
        ("PATCH", "/segments", {}, 405, "use GET, POST"),
        ("POST", "/segments", {"Content-Type": "text/plain"}, 415, "application/json"),
        ("POST", "/content", {"Content-Type": "multipart/form-data"}, 415, "application/json"),
        ("PUT", "/segments/x", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"),
        ("BREW", "/segments", {}, 405, "use GET, POST"),
    ],
)
def test_errors_answer_in_one_shape_with_a_content_type(
    stack: LocalStack, method: str, path: str, headers: dict[str, str], status: int, fragment: str
) -> None:
    got, answered_headers, body = _raw(stack, method, path, b"{}", headers)
    assert got == status
    assert answered_headers.get("Content-Type", "").startswith("application/json"), answered_headers
    answer = json.loads(body)
    assert set(answer) <= {"message", "problems"} and fragment in answer["message"], answer


def test_successful_answers_carry_their_content_type(stack: LocalStack) -> None:
    status, headers, body = _raw(stack, "GET", "/segments")
    assert status == 200 and headers["Content-Type"].startswith("application/json") and "segments" in json.loads(body)


def _known_emails(lake: Path, n: int) -> list[str]:
    import pyarrow.dataset as ds

    contacts = ds.dataset(lake / "contacts" / "org_id=acme", format="parquet").to_table(columns=["email"]).to_pylist()
    return [c["email"] for c in contacts if c["email"]][:n]


@pytest.mark.parametrize(
    ("separator", "bom", "newline"),
    [(";", True, "\r\n"), (",", True, "\r\n"), ("\t", False, "\n"), (";", False, "\n")],
    ids=["excel-europe", "excel-csv-utf8", "tab", "semicolons"],
)
def test_lists_read_excels_csv_files(stack: LocalStack, lake: Path, separator: str, bom: bool, newline: str) -> None:
    emails = _known_emails(lake, 3)
    rows = [
        ["Name", "E-mail notes", "Email"],
        ['"Nowak; Anna"', "x", emails[0]],
        ["Kowalski", '"a ""quoted"" note"', emails[1].upper()],
        ["B", "", emails[2]],
        ["C", "", "nobody@example.com"],
    ]
    text = ("\ufeff" if bom else "") + newline.join(separator.join(row) for row in rows) + newline
    status, report = http(stack, "POST", "/lists?name=Excel", raw=text)
    assert status == 201, report
    assert (report["rows"], report["matched"], report["unknown"], report["bad_rows"]) == (4, 3, 1, 0), report
    assert (report["separator"], report["bom"]) == (separator, bom)


def test_a_list_without_a_key_column_says_what_it_read(stack: LocalStack) -> None:
    _refused(stack, "POST", "/lists", None, 400, "it reads 'Name|Phone'", raw="Name|Phone\nAnna|123\n")


@pytest.mark.parametrize(
    ("csv_text", "fragment"),
    [("contact_id\rc0000001\r", None), ('contact_id\n"c0000001\n', None), ("a\rb", "it reads 'a'"), ("contact_id\nc00\x0000001\n", None)],
)
def test_odd_csv_bodies_are_read_or_refused_with_a_reason(stack: LocalStack, csv_text: str, fragment: str | None) -> None:
    status, answer = http(stack, "POST", "/lists?name=odd", raw=csv_text)
    assert status in (201, 400), answer
    if fragment:
        assert fragment in answer["message"]
