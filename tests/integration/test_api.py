"""The admin API through the real api function (decorators, resolver, routes) on moto and DuckDB.

Requests are API Gateway REST proxy events shaped as AWS sends them (tests/events/api_gateway_rest.json),
with the org in the Cognito authorizer's claims.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import importlib.util
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tern.engines.duckdb import DuckDBEngine
from tern.services import use_runtime
from tern_local.generator import generate
from tern_local.runtime import LocalRuntime
from tern_local.template import create_table

ROOT = Path(__file__).resolve().parents[2]
EVENT = json.loads((ROOT / "tests" / "events" / "api_gateway_rest.json").read_text())
NOW = dt.datetime(2026, 11, 22, 12)
REGION = "eu-central-1"
ENV = {
    "TERN_TABLE_NAME": "tern", "TERN_RESULTS_BUCKET": "results", "TERN_LAKE_BUCKET": "lake",
    "TERN_GLUE_DATABASE": "tern_dev", "TERN_ATHENA_WORKGROUP": "tern-dev", "TERN_SCHEDULE_GROUP": "tern",
    "TERN_REFRESH_MACHINE_ARN": f"arn:aws:states:{REGION}:123456789012:stateMachine:tern-segment-refreshes-dev",
    "TERN_SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler", "TERN_REGION": REGION,
    "TERN_JOURNEY_RUN_MACHINE_ARN": f"arn:aws:states:{REGION}:123456789012:stateMachine:journey-runs",
    "TERN_JOURNEY_STEP_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:123456789012:function:journey-step",
    "TERN_JOURNEY_RUN_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:123456789012:function:journey-run",
    "TERN_EXPORT_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:123456789012:function:export",
    "TERN_STATE_MACHINE_ROLE_ARN": "arn:aws:iam::123456789012:role/state-machine",
    "TERN_FAILURES_QUEUE_ARN": f"arn:aws:sqs:{REGION}:123456789012:failures",
    "TERN_SES_ARN_PREFIX": f"arn:aws:ses:{REGION}:123456789012", "TERN_SENDING_PREFIX": "tern-dev",
    "TERN_EVENT_BUS_ARN": f"arn:aws:events:{REGION}:123456789012:event-bus/default", "TERN_POSTAL_ADDRESS": "Acme, 1 Main Street, Springfield",
    "AWS_DEFAULT_REGION": REGION, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Tern",
    "POWERTOOLS_SERVICE_NAME": "tern",
}  # fmt: skip
HOT = {"name": "Warsaw", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]}}


@dataclass
class Context:
    function_name: str = "tern-api"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:tern-api"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api-lake")
    for org, seed in (("acme", 1), ("globex", 2)):
        generate(root, contacts=600, events_per_contact=6, days=30, org=org, seed=seed, now=NOW)
    return root


class HeldEngine(DuckDBEngine):
    """DuckDB whose started queries keep running until `finished` is set: counts over a lake too big to answer at once."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.finished = threading.Event()
        self.started = 0

    def start(self, sql: str) -> str:
        self.started += 1
        return super().start(sql)

    def poll(self, query_id: str) -> Any:
        return super().poll(query_id) if self.finished.is_set() else None


@pytest.fixture()
def api(lake: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Any]:
    for name, value in {**ENV, **getattr(request, "param", {}).get("env", {})}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        create_table(boto3.client("dynamodb"), "TernTable", "tern")
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="results", CreateBucketConfiguration={"LocationConstraint": REGION})
        scheduler = boto3.client("scheduler")
        scheduler.create_schedule_group(Name="tern")
        secret = boto3.client("secretsmanager").create_secret(Name="tern-unsubscribe", SecretString="k" * 48)  # what the template generates
        monkeypatch.setenv("TERN_UNSUBSCRIBE_SECRET_ARN", secret["ARN"])
        # the refresh workflow, held (moto does not run executions here): an evaluation stays running
        definition = (ROOT / "statemachines" / "refresh_segment.asl.json").read_text()
        boto3.client("stepfunctions").create_state_machine(
            name="tern-segment-refreshes-dev", definition=definition, roleArn=ENV["TERN_STATE_MACHINE_ROLE_ARN"]
        )
        # the lake answers from DuckDB instead of Athena and is a folder, as in the local stack: the runtime hook
        engine = getattr(request, "param", {}).get("engine", DuckDBEngine)(lake)
        use_runtime(LocalRuntime(lake, lambda: NOW, REGION, engine=engine))
        spec = importlib.util.spec_from_file_location("api_function", ROOT / "functions" / "api" / "app.py")
        assert spec and spec.loader
        function = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(function)  # the cold start: ApiSettings from the environment, the services
        function.engine = engine  # type: ignore[attr-defined]  # the test's handle on the lake's queries
        yield function
        use_runtime(None)


def call(
    function: Any,
    method: str,
    path: str,
    body: Any = None,
    org: str | None = "acme",
    query: dict[str, str] | None = None,
    raw: str | None = None,
) -> tuple[int, Any]:
    response = respond(function, method, path, body, org, query, raw)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def respond(
    function: Any,
    method: str,
    path: str,
    body: Any = None,
    org: str | None = "acme",
    query: dict[str, str] | None = None,
    raw: str | None = None,
) -> Any:
    """The API Gateway response: statusCode, headers, body."""
    event = copy.deepcopy(EVENT)
    event.update(
        httpMethod=method,
        path=path,
        queryStringParameters=query,
        body=raw if raw is not None else (json.dumps(body) if body is not None else None),
    )
    event["requestContext"].update(httpMethod=method, path=f"/prod{path}")
    claims = event["requestContext"]["authorizer"]["claims"]
    if org is None:
        del claims["custom:org_id"]
    else:
        claims["custom:org_id"] = org
    return function.lambda_handler(event, Context())


@pytest.mark.parametrize("api", [{"engine": HeldEngine, "env": {"TERN_ORG_QUERY_LIMIT": "4"}}], indirect=True)
def test_a_burst_of_previews_from_one_org_is_throttled_while_another_orgs_still_answer(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tern.usecases import preview

    monkeypatch.setattr(preview, "WAIT_SECONDS", 0.0)  # answer with an id at once rather than wait 5 s for held queries
    definition = {"name": "p", "where": {"all": [HOT["where"]["all"][0], {"kind": "gender", "value": "female"}]}}
    running = [call(api, "POST", "/segments/preview", definition) for _ in range(2)]  # a count and a sample each: 4 queries
    assert [status for status, _ in running] == [202, 202]
    refused = respond(api, "POST", "/segments/preview", definition)
    assert refused["statusCode"] == 429 and 1 <= int(refused["multiValueHeaders"]["Retry-After"][0]) <= 300
    assert "counts at once" in json.loads(refused["body"])["message"]
    assert call(api, "GET", "/journeys/x/analytics")[0] == 404  # what needs no query still answers
    assert call(api, "POST", "/segments/preview", definition, org="globex")[0] == 202  # another org's slots are its own

    # the counts finish: the poll that sees it gives the org's slots back, and the next preview is taken
    api.engine.finished.set()
    status, done = call(api, "GET", running[0][1]["poll"])
    assert status == 200 and done["status"] == "done" and done["total"] > 0
    assert call(api, "POST", "/segments/preview", definition)[0] == 202  # taken (answered by id: this test waits for nothing)


def test_a_segment_from_draft_to_members_and_history(api: Any) -> None:
    status, created = call(api, "POST", "/segments", {**HOT, "refresh": {"every": 6, "unit": "hours"}})
    assert status == 201 and created["status"] == "draft" and created["org_id"] == "acme"
    sid = created["id"]
    assert call(api, "GET", f"/segments/{sid}")[1]["name"] == "Warsaw"
    status, edited = call(api, "PUT", f"/segments/{sid}", {**HOT, "name": "Warsaw hot"})
    assert status == 200 and edited["name"] == "Warsaw hot"
    status, live = call(api, "POST", f"/segments/{sid}/go-live")
    assert status == 200 and live["status"] == "live"
    status, started = call(api, "POST", f"/segments/{sid}/evaluate")  # the refresh workflow starts; poll it
    assert status == 202 and started["status"] == "running" and started["poll"] == f"/segments/{sid}/evaluations/{started['evaluation_id']}"
    assert call(api, "GET", started["poll"])[1]["status"] == "running"
    for unknown in ("0123456789abcdef", "../../x", "a" * 81):
        assert call(api, "GET", f"/segments/{sid}/evaluations/{unknown}")[0] == 404
    assert call(api, "GET", started["poll"], org="globex")[0] == 404
    assert call(api, "GET", f"/segments/{sid}/members")[1] == {"members": [], "cursor": None}  # nothing stored yet
    assert call(api, "POST", f"/segments/{sid}/archive")[1]["status"] == "archived"


def test_delete_restore_and_copy(api: Any) -> None:
    sid = call(api, "POST", "/segments", HOT)[1]["id"]
    assert call(api, "DELETE", f"/segments/{sid}")[1]["status"] == "deleted"
    assert call(api, "GET", "/segments")[1]["segments"] == []
    assert len(call(api, "GET", "/segments", query={"include_deleted": "true"})[1]["segments"]) == 1
    assert call(api, "POST", f"/segments/{sid}/restore")[1]["status"] == "draft"
    status, copied = call(api, "POST", f"/segments/{sid}/copy")
    assert status == 201 and copied["name"] == "Copy of Warsaw" and copied["id"] != sid


def test_preview_gives_live_counts_and_a_sample(api: Any) -> None:
    definition = {"name": "p", "where": {"all": [HOT["where"]["all"][0], {"kind": "gender", "value": "female"}]}}
    status, preview = call(api, "POST", "/segments/preview", definition)
    assert status == 200
    assert [c["path"] for c in preview["criteria"]] == ["where.all[0]", "where.all[1]"]
    assert 0 < preview["total"] <= min(c["count"] for c in preview["criteria"])
    assert len(preview["sample"]) == min(50, preview["total"]) and preview["sample"] == sorted(preview["sample"])
    # the members as a marketer knows them: name, e-mail and city from the lake, beside the ids
    assert [m["contact_id"] for m in preview["members"]] == preview["sample"]
    first = preview["members"][0]
    row = api.engine.run(
        f"SELECT first_name, last_name, email, city FROM contacts WHERE org_id = 'acme' AND contact_id = '{first['contact_id']}'"
    ).rows[0]
    assert (first["name"], first["email"], first["city"]) == (f"{row[0]} {row[1]}", row[2], row[3])


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        (
            "POST",
            "/segments",
            {"name": "x", "where": {"all": [{"kind": "attribute", "field": "lead_score", "op": "gt", "value": "hot"}]}},
            400,
            "where.all[0].value",
        ),
        ("POST", "/segments", {"name": "x", "where": {"all": [{"kind": "teleport"}]}}, 400, "unknown criterion kind 'teleport'"),
        ("POST", "/segments", {"name": "x", "where": {"all": []}, "colour": "red"}, 400, "colour: unknown field"),
        (
            "POST",
            "/segments/preview",
            {"name": "x", "where": {"any": [{"not": {"kind": "age", "min": 50, "max": 20}}]}},
            400,
            "where.any[0].not",
        ),
        ("POST", "/segments", None, 400, "body"),
        ("GET", "/segments/nope", None, 404, "segment nope not found"),
        ("GET", "/segments/nope/members", None, 404, "not found"),
        ("GET", "/nowhere", None, 404, ""),
    ],
)
def test_bad_requests_get_a_clear_4xx(api: Any, method: str, path: str, body: Any, status: int, fragment: str) -> None:
    got, answer = call(api, method, path, body)
    assert got == status, answer
    assert fragment in json.dumps(answer)


def test_malformed_json_is_a_400(api: Any) -> None:
    status, answer = call(api, "POST", "/segments", raw="{not json")
    assert status == 400 and answer["problems"] == [{"path": "body", "message": "the body is not valid JSON"}]


def test_a_json_array_is_never_read_as_its_first_item(api: Any) -> None:
    for method, path, first in (("PUT", "/settings/messages", {}), ("POST", "/segments", HOT)):
        status, answer = call(api, method, path, raw=json.dumps([first, 1]))
        assert status == 400 and answer["problems"] == [{"path": "body", "message": "expected an object {...}, got an array"}]
    assert call(api, "GET", "/segments")[1]["segments"] == []  # nothing was written


def test_state_changes_that_do_not_fit_are_409(api: Any) -> None:
    sid = call(api, "POST", "/segments", HOT)[1]["id"]
    assert call(api, "POST", f"/segments/{sid}/archive")[0] == 409
    assert call(api, "POST", f"/segments/{sid}/evaluate")[0] == 409
    call(api, "POST", f"/segments/{sid}/go-live")
    status, answer = call(api, "PUT", f"/segments/{sid}", HOT)
    assert status == 409 and "it is live, not draft" in answer["message"]


def test_no_org_claim_is_403(api: Any) -> None:
    assert call(api, "GET", "/segments", org=None)[0] == 403


def test_another_org_sees_changes_and_evaluates_nothing(api: Any) -> None:
    sid = call(api, "POST", "/segments", HOT)[1]["id"]
    call(api, "POST", f"/segments/{sid}/go-live")
    call(api, "POST", f"/segments/{sid}/evaluate")
    for method, path, body in [
        ("GET", f"/segments/{sid}", None), ("PUT", f"/segments/{sid}", HOT), ("DELETE", f"/segments/{sid}", None),
        ("POST", f"/segments/{sid}/restore", None), ("POST", f"/segments/{sid}/copy", None),
        ("POST", f"/segments/{sid}/go-live", None), ("POST", f"/segments/{sid}/archive", None),
        ("POST", f"/segments/{sid}/evaluate", None), ("GET", f"/segments/{sid}/members", None),
        ("GET", f"/segments/{sid}/history", None),
    ]:  # fmt: skip
        assert call(api, method, path, body, org="globex")[0] == 404, (method, path)
    assert call(api, "GET", "/segments", org="globex")[1]["segments"] == []
    assert call(api, "GET", f"/segments/{sid}")[1]["status"] == "live"
    # the same definition previewed by globex counts globex's contacts, not acme's
    acme = call(api, "POST", "/segments/preview", HOT)[1]["total"]
    globex = call(api, "POST", "/segments/preview", HOT, org="globex")[1]["total"]
    assert acme != globex


def test_openapi_document(api: Any) -> None:
    status, document = call(api, "GET", "/openapi.json")
    assert status == 200 and document["info"]["title"] == "Tern admin API"
    assert {"/segments", "/segments/preview", "/segments/{segment_id}/members"} <= set(document["paths"])
    operations = [(m, p, o) for p, ops in document["paths"].items() for m, o in ops.items()]
    assert all("422" not in o["responses"] for _, _, o in operations)  # Tern answers 400, never 422
    assert all({"403", "503"} <= set(o["responses"]) for _, _, o in operations)
    answers = document["paths"]["/segments/preview"]["post"]["responses"]
    assert {"200", "202", "400", "413", "415", "502"} <= set(answers)
    assert answers["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "text/csv" in document["paths"]["/lists"]["post"]["requestBody"]["content"]
    assert "410" in document["paths"]["/exports/{export_id}"]["get"]["responses"]


def test_references_must_exist_be_evaluated_and_not_cycle(api: Any) -> None:
    missing = {"name": "m", "where": {"all": [{"kind": "in_segment", "segment_id": "nope"}]}}
    status, answer = call(api, "POST", "/segments", missing)
    assert status == 400 and answer["problems"] == [{"path": "where.all[0].segment_id", "message": "there is no segment nope"}]
    draft = call(api, "POST", "/segments", HOT)[1]["id"]
    status, answer = call(api, "POST", "/segments/preview", {"name": "p", "where": {"all": [{"kind": "in_segment", "segment_id": draft}]}})
    assert status == 409 and "has not been evaluated yet" in answer["message"]
    x = call(api, "POST", "/segments", HOT)[1]["id"]
    y = call(api, "POST", "/segments", {"name": "y", "where": {"all": [{"kind": "in_segment", "segment_id": x}]}})[1]["id"]
    status, answer = call(api, "PUT", f"/segments/{x}", {"name": "x", "where": {"any": [{"kind": "not_in_segment", "segment_id": y}]}})
    assert status == 400 and answer["problems"][0]["path"] == "where.any[0].segment_id"
    assert f"{x} -> {y} -> {x}" in answer["problems"][0]["message"]
    status, answer = call(api, "PUT", f"/segments/{x}", {"name": "x", "where": {"all": [{"kind": "in_segment", "segment_id": x}]}})
    assert status == 400 and "cannot refer to itself" in answer["message"]
    # another org's segment is not there to refer to
    status, _ = call(api, "POST", "/segments", {"name": "g", "where": {"all": [{"kind": "in_segment", "segment_id": x}]}}, org="globex")
    assert status == 400


def test_a_static_list_accounts_for_every_row_and_selects_its_contacts(api: Any, lake: Path) -> None:
    import pyarrow.dataset as ds

    contacts = ds.dataset(lake / "contacts" / "org_id=acme", format="parquet").to_table(columns=["contact_id", "email"]).to_pylist()
    known = [c["email"] for c in contacts if c["email"]][:5]
    csv_text = "Email,Note\n" + "\n".join([
        *(f"{e.upper()},vip" for e in known), f"{known[0]},again", "nobody@nowhere.example,?", "not-an-address,x", ",empty",
    ]) + "\n"  # fmt: skip
    event_body = csv_text
    status, report = call(api, "POST", "/lists", raw=event_body, query={"name": "VIP guests"})
    assert status == 201, report
    assert (report["rows"], report["matched"], report["unknown"], report["duplicates"], report["bad_rows"]) == (9, 5, 1, 1, 2)
    assert report["unknown_rows"] == [{"line": 8, "value": "nobody@nowhere.example"}]
    assert [b["line"] for b in report["bad_row_details"]] == [9, 10]
    list_id = report["id"]
    assert call(api, "GET", f"/lists/{list_id}")[1]["matched"] == 5
    assert call(api, "GET", f"/lists/{list_id}", org="globex")[0] == 404
    assert [r["id"] for r in call(api, "GET", "/lists")[1]["lists"]] == [list_id]
    assert call(api, "GET", "/lists", org="globex")[1] == {"lists": []}
    preview = call(api, "POST", "/segments/preview", {"name": "vip", "where": {"all": [{"kind": "in_list", "list_id": list_id}]}})[1]
    expected = sorted(c["contact_id"] for c in contacts if c["email"] in known)
    assert preview["total"] == 5 and preview["sample"] == expected
    status, _ = call(api, "POST", "/segments", {"name": "g", "where": {"all": [{"kind": "in_list", "list_id": list_id}]}}, org="globex")
    assert status == 400


def test_a_list_without_a_key_column_is_a_400(api: Any) -> None:
    status, answer = call(api, "POST", "/lists", raw="name,phone\nAnna,123\n")
    assert status == 400 and "contact_id or email" in answer["message"]


def test_content_is_previewed_for_a_contact_as_a_send_step_renders_it(api: Any, lake: Path) -> None:
    import pyarrow.dataset as ds

    row = next(
        c
        for c in ds.dataset(lake / "contacts" / "org_id=acme", format="parquet")
        .to_table(columns=["contact_id", "first_name", "city"])
        .to_pylist()
        if c["first_name"]
    )
    content = {
        "name": "hello",
        "channel": "email",
        "subject": "{{first_name|Friend}}, news from {{city}}",
        "body": "<p>Hi {{first_name}} & co</p>",
        "text": "Hi {{last_name|there}}",
    }
    status, shown = call(api, "POST", "/content/preview", {"content": content, "contact_id": row["contact_id"]})
    assert status == 200, shown
    assert shown["subject"] == f"{row['first_name']}, news from {row['city']}"
    assert shown["body"] == f"<p>Hi {html.escape(row['first_name'])} & co</p>"  # the value escaped, the template as written
    assert shown["text"] == "Hi " + (row_last(lake, row["contact_id"]) or "there")
    assert call(api, "POST", "/content/preview", {"content": content, "contact_id": "c9999999"})[0] == 404
    status, answer = call(
        api, "POST", "/content/preview", {"content": {**content, "subject": "{{nosuch}}"}, "contact_id": row["contact_id"]}
    )
    assert status == 400 and "nosuch" in answer["message"]


def row_last(lake: Path, contact_id: str) -> str | None:
    import pyarrow.dataset as ds

    rows = ds.dataset(lake / "contacts" / "org_id=acme", format="parquet").to_table(columns=["contact_id", "last_name"]).to_pylist()
    return next(r["last_name"] for r in rows if r["contact_id"] == contact_id)


def test_the_editor_is_offered_the_lakes_fields_and_values(api: Any) -> None:
    status, fields = call(api, "GET", "/lake/fields")
    assert status == 200 and fields["status"] == "done"
    types = {f["field"]: f["type"] for f in fields["fields"]}
    assert types["lead_score"] == "number" and types["city"] == "text" and types["tags"] == "list"
    status, cities = call(api, "GET", "/lake/values", query={"field": "city"})
    assert status == 200 and cities["type"] == "text" and 0 < len(cities["values"]) <= 20
    counts = [v["contacts"] for v in cities["values"]]
    assert counts == sorted(counts, reverse=True)
    status, clicks = call(api, "GET", "/lake/values", query={"field": "events.event_type"})
    assert status == 200 and clicks["values"] and all(v["contacts"] > 0 for v in clicks["values"])
    assert call(api, "GET", "/lake/values", query={"field": "password"})[0] == 400
    assert call(api, "GET", "/lake/values")[0] == 400  # the field is required


@pytest.mark.parametrize("api", [{"engine": HeldEngine}], indirect=True)
def test_values_still_being_read_answer_202_and_the_next_ask_picks_them_up_once(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tern.usecases import suggest

    monkeypatch.setattr(suggest, "WAIT_SECONDS", 0.0)
    status, running = call(api, "GET", "/lake/values", query={"field": "city"})
    assert (status, running["status"]) == (202, "running")
    api.engine.finished.set()
    status, done = call(api, "GET", "/lake/values", query={"field": "city"})
    assert status == 200 and done["values"] and api.engine.started == 1  # the running statement's answer, not a second
    assert call(api, "GET", "/lake/values", query={"field": "city"}) == (200, done)
    assert api.engine.started == 1  # kept: the lake is not read again
    status, other = call(api, "GET", "/lake/values", query={"field": "city"}, org="globex")
    assert status == 200 and other["values"] != done["values"]  # another org's answer is its own
