"""Moving from Pinpoint on the local stack, as a user does it: `tern import pinpoint` with the saved files
(templates, a dimensional and an IMPORT segment with its endpoint file, a journey, a campaign), then the
imported journey published and run in Step Functions: Pinpoint's ConditionalSplit waits its
EvaluationWaitTime and then checks for the click, its TotalCap caps, and the analytics show it all."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import pinpoint_docs as pd
from stack_client import http, lake_contacts, local_stack, ok, ses_sent, wait_for
from tern_local.cli import main
from tern_local.demo_stack import ses_click
from tern_local.generator import generate
from tern_local.stack import REGION, LocalStack

SCALE = 3600
LINK = "https://shop.example.com/launch"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    lake: Path = tmp_path_factory.mktemp("pinpoint-lake")
    generate(lake, contacts=300, events_per_contact=2, days=10, org="acme", seed=14)
    with local_stack(lake, time_scale=SCALE) as running:
        yield running


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


def saved_files(folder: Path, contacts: dict[str, dict[str, Any]]) -> list[str]:
    """What a Pinpoint user saved: CLI outputs, and an endpoint file for the IMPORT segment."""
    krakow = sorted(c for c, row in contacts.items() if row["city"] == "Kraków")
    files = {
        "launch-mail.json": pd.email_template("launch-mail", "{{User.UserAttributes.FirstName}}, it is coming",
                                              f"<a href='{LINK}'>See it</a>", defaults={"User.UserAttributes.FirstName": "Hello"}),
        "launch-sms.json": pd.sms_template("launch-sms", "{{User.UserAttributes.FirstName}}: it is out!"),
        "segments.json": {"SegmentsResponse": {"Item": [
            pd.segment("seg-krakow", "Kraków", {"UserAttributes": {"City": {"AttributeType": "INCLUSIVE", "Values": ["Kraków"]}}})["SegmentResponse"],
            pd.imported_segment("seg-vip", "VIP list", "vip-endpoints.csv")["SegmentResponse"],
        ]}},
        "journey.json": pd.journey("launch", "Launch", {
            "announce": {"EMAIL": {"TemplateName": "launch-mail", "NextActivity": "clicked"}},
            "clicked": {"ConditionalSplit": {
                "Condition": {"Conditions": [{"EventCondition": {"MessageActivity": "announce",
                                                                 "Dimensions": {"EventType": {"DimensionType": "INCLUSIVE", "Values": ["_email.click"]}}}}]},
                "EvaluationWaitTime": {"WaitFor": "PT12H"}, "TrueActivity": "text", "FalseActivity": "again"}},
            "text": {"SMS": {"TemplateName": "launch-sms"}},
            "again": {"EMAIL": {"TemplateName": "launch-mail"}},
            "app": {"PUSH": {"TemplateName": "launch-push"}},
        }, "announce", StartCondition={"SegmentStartCondition": {"SegmentId": "seg-krakow"}}, Limits={"TotalCap": 1}),
        "campaign.json": pd.campaign("weekly", "Weekly to the VIPs", "seg-vip", TemplateConfiguration={"EmailTemplate": {"Name": "launch-mail"}},
                                     Schedule={"StartTime": "IMMEDIATE", "Frequency": "ONCE"}),
    }  # fmt: skip
    names = []
    for name, document in files.items():
        (folder / name).write_text(json.dumps(document))
        names.append(str(folder / name))
    endpoints = "ChannelType,Address,User.UserId,User.UserAttributes.FirstName\n" + "".join(
        f"EMAIL,{contacts[c]['email'] or 'none@example.com'},{c},{contacts[c]['first_name']}\n" for c in krakow[:5]
    )
    (folder / "vip-endpoints.csv").write_text(endpoints)
    return [*names, str(folder / "vip-endpoints.csv")]


def test_a_pinpoint_export_imports_through_the_cli_and_its_journey_runs(stack: LocalStack, tmp_path: Path) -> None:
    contacts = lake_contacts(stack)
    files = saved_files(tmp_path, contacts)
    api = f"http://127.0.0.1:{stack.port}"
    code, out, err = cli("import", "pinpoint", *files, "--api", api, "--dry-run")
    assert code == 0, err
    assert "Dry run: nothing created" in out and ok(stack, "GET", "/journeys")["journeys"] == []

    code, out, err = cli("import", "pinpoint", *files, "--api", api, "--json")
    assert code == 0, err
    report = json.loads(out)
    made = {(o["kind"], o["pinpoint"]): o["tern_id"] for o in report["objects"]}
    assert report["lists"][0]["matched"] == 5 and report["lists"][0]["segment"] == "seg-vip"
    assert {o["action"] for o in report["objects"]} == {"created"}
    push = [f for f in report["findings"] if f["element"] == "Activities.app (PUSH)"]
    assert push[0]["status"] == "not mapped"

    # the user takes it from there in Tern: the audience goes live, the journey is published and started
    krakow = made[("segment", "seg-krakow")]
    ok(stack, "POST", f"/segments/{krakow}/go-live")
    wait_for(lambda: ok(stack, "GET", f"/segments/{krakow}")["latest"], timeout=60, what="the audience's first evaluation")
    journey_id = made[("journey", "launch")]
    published = ok(stack, "POST", f"/journeys/{journey_id}/publish")
    since = len(ses_sent())
    ok(stack, "POST", f"/journeys/{journey_id}/start")
    members = [m["contact_id"] for m in ok(stack, "GET", f"/segments/{krakow}/members?limit=1000")["members"]]
    reachable = sorted(c for c in members if contacts[c]["email"] and "email_marketing" in (contacts[c]["consents"] or []))
    wait_for(lambda: len(ses_sent()) - since >= len(reachable), timeout=60, what="the announcements")
    sent = {m.destinations["ToAddresses"][0]: m for m in ses_sent()[since:]}
    clickers = reachable[:3]
    events = boto3.client("events", endpoint_url=stack.endpoint, region_name=REGION)
    for contact in clickers:
        ses_click(events, sent[contacts[contact]["email"]].id, LINK)
    first = sent[contacts[clickers[0]]["email"]]
    assert first.subject == f"{contacts[clickers[0]]['first_name'] or 'Hello'}, it is coming"

    def done() -> bool:
        sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
        executions = sfn.list_executions(stateMachineArn=published["state_machine_arn"])["executions"]
        return len(executions) == len(members) and all(e["status"] != "RUNNING" for e in executions)

    wait_for(done, timeout=120, every=0.5, what="every contact through the 12-hour evaluation")
    analytics = {s["step_id"]: s for s in ok(stack, "GET", f"/journeys/{journey_id}/analytics")["steps"]}
    ways = {w["way"]: w["contacts"] for w in analytics["clicked"]["ways"]}
    assert ways["yes"] == len(clickers) and ways["yes"] + ways["no"] == len(reachable)  # checked after the wait, as Pinpoint does
    assert analytics["again"]["capped"] == len(reachable) - len(clickers)  # TotalCap 1: the second e-mail is not sent
    assert len(ses_sent()) - since == len(reachable)
    assert analytics["text"]["processed"] == len(clickers)

    # the campaign: a one-step journey on the IMPORT segment's list
    vip = made[("segment", "seg-vip")]
    ok(stack, "POST", f"/segments/{vip}/go-live")
    wait_for(lambda: ok(stack, "GET", f"/segments/{vip}")["latest"], timeout=60, what="the VIP list's evaluation")
    campaign = made[("journey", "weekly")]
    ok(stack, "POST", f"/journeys/{campaign}/publish")
    ok(stack, "POST", f"/journeys/{campaign}/start")
    wait_for(
        lambda: ok(stack, "GET", f"/journeys/{campaign}/analytics")["entered"]["contacts"] == 5, timeout=60, what="the campaign's five VIPs"
    )

    # importing the same files again changes nothing and duplicates nothing; a changed journey, published, is kept
    code, out, err = cli("import", "pinpoint", *files[:-1], "--api", api, "--json")
    again = json.loads(out)
    assert code == 0 and {(o["kind"], o["pinpoint"]): o["tern_id"] for o in again["objects"]} == made
    assert {o["action"] for o in again["objects"]} == {"unchanged"}
    journey_file = Path(files[3])
    journey_file.write_text(journey_file.read_text().replace('"Name": "Launch"', '"Name": "Launch, renamed"'))
    code, out, err = cli("import", "pinpoint", str(journey_file), "--api", api, "--json")
    kept = json.loads(out)
    assert [o["action"] for o in kept["objects"]] == ["kept"] and ok(stack, "GET", f"/journeys/{journey_id}")["name"] == "Launch"
    assert any("left as it is" in f["note"] for f in kept["findings"])
    assert len(ok(stack, "GET", "/journeys")["journeys"]) == 2


def test_the_api_refuses_a_bad_import_with_the_path_and_writes_nothing(stack: LocalStack) -> None:
    before = len(ok(stack, "GET", "/journeys")["journeys"])
    bad = pd.journey("bad", "Bad", {"a": {"Wait": {"WaitTime": {"WaitFor": "PT1H"}, "NextActivity": "b"}}, "b": {"Wait": {"WaitTime": {"WaitFor": "PT1H"}, "NextActivity": "a"}}},
                     "a", StartCondition={"SegmentStartCondition": {"SegmentId": "x"}})  # fmt: skip
    status, problem = http(stack, "POST", "/imports/pinpoint", [pd.email_template("fine", "Hi", "<p>x</p>"), bad])
    assert (
        status == 400
        and problem["problems"][0]["path"].startswith("body: [1].JourneyResponse.Activities.")
        and "loop" in problem["problems"][0]["message"]
    )
    status, problem = http(stack, "POST", "/imports/pinpoint", raw="Resources: {A: !Ref}\n  - broken: [")
    assert status == 400 and "YAML" in problem["problems"][0]["message"]
    assert len(ok(stack, "GET", "/journeys")["journeys"]) == before
    assert all(c["name"] != "fine" for c in ok(stack, "GET", "/content")["content"])
    status, _ = http(stack, "POST", "/imports/pinpoint/endpoints?segment=s", raw="nothing,useful\n1,2\n")
    assert status == 400
    code, _, err = cli("import", "pinpoint", str(Path(__file__)), "--api", f"http://127.0.0.1:{stack.port}")
    assert code == 2 and err.count("\n") == 1 and err.startswith("tern: 400: ")


def test_a_journey_with_every_activity_type_runs_in_step_functions(stack: LocalStack, tmp_path: Path) -> None:
    """Every Pinpoint activity type, imported, published and run (hours are seconds here): no execution fails,
    every step Tern has is passed through, and the left-out ones are bridged."""
    contacts = lake_contacts(stack)
    warsaw = {
        "UserAttributes": {"City": {"Values": ["Warszawa"]}},
        "Metrics": {"LeadScore": {"ComparisonOperator": "GREATER_THAN_OR_EQUAL", "Value": 20.0}},
    }
    hour = {"WaitFor": "PT1H"}
    activities = {
        "mail": {"EMAIL": {"TemplateName": "every-mail", "NextActivity": "opened"}},
        "opened": {"ConditionalSplit": {"Condition": {"Operator": "ANY", "Conditions": [
            {"EventCondition": {"MessageActivity": "mail", "Dimensions": {"EventType": {"Values": ["_email.open", "_email.click"]}}}},
            {"SegmentDimensions": {"Location": {"Country": {"DimensionType": "EXCLUSIVE", "Values": ["PL"]}}}}]},
            "EvaluationWaitTime": hour, "TrueActivity": "pause", "FalseActivity": "route"}},
        "pause": {"Wait": {"WaitTime": hour, "NextActivity": "text"}},
        "text": {"SMS": {"TemplateName": "every-sms", "NextActivity": "push"}},
        "push": {"PUSH": {"NextActivity": "ab"}},
        "ab": {"RandomSplit": {"Branches": [{"Percentage": 60, "NextActivity": "hold"}, {"Percentage": 40, "NextActivity": "call"}]}},
        "hold": {"Holdout": {"Percentage": 20, "NextActivity": "last"}},
        "last": {"Wait": {"WaitTime": hour}},
        "call": {"ContactCenter": {"NextActivity": "hook"}},
        "hook": {"CUSTOM": {"DeliveryUri": "arn:aws:lambda:eu-west-1:123456789012:function:push", "NextActivity": "last"}},
        "route": {"MultiCondition": {"EvaluationWaitTime": hour, "DefaultActivity": "hold", "Branches": [
            {"Condition": {"SegmentDimensions": {"Demographic": {"Channel": {"Values": ["SMS"]}}}}, "NextActivity": "text"},
            {"Condition": {"SegmentCondition": {"SegmentId": "seg-warsaw"}}, "NextActivity": "last"}]}},
    }  # fmt: skip
    documents = [
        pd.email_template("every-mail", "Hello {{User.UserAttributes.FirstName}}", "<p>News from {{Location.City}}</p>"),
        pd.sms_template("every-sms", "News, {{User.UserAttributes.FirstName}}"),
        pd.segment("seg-warsaw", "Warsaw, lead score 20+", warsaw),
        pd.journey("every", "Every activity", activities, "mail", StartCondition={"SegmentStartCondition": {"SegmentId": "seg-warsaw"}},
                   Limits={"DailyCap": 3, "MessagesPerSecond": 200}),
    ]  # fmt: skip
    report = ok(stack, "POST", "/imports/pinpoint", {"files": {f"{i}.json": json.dumps(d) for i, d in enumerate(documents)}})
    made = {(o["kind"], o["pinpoint"]): o["tern_id"] for o in report["objects"]}
    assert sorted(f["element"] for f in report["findings"] if f["status"] == "not mapped") == [
        "Activities.call (ContactCenter)",
        "Activities.hook (CUSTOM)",
        "Activities.push (PUSH)",
    ]
    audience = made[("segment", "seg-warsaw")]
    ok(stack, "POST", f"/segments/{audience}/go-live")
    wait_for(lambda: ok(stack, "GET", f"/segments/{audience}")["latest"], timeout=60, what="the audience's evaluation")
    members = [m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience}/members?limit=1000")["members"]]
    expected = {c for c, row in contacts.items() if row["city"] == "Warszawa" and (row["lead_score"] or 0) >= 20}
    assert set(members) == expected and len(members) > 10
    journey = made[("journey", "every")]
    published = ok(stack, "POST", f"/journeys/{journey}/publish")
    ok(stack, "POST", f"/journeys/{journey}/start")
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)

    def executions() -> list[dict[str, Any]]:
        return list(sfn.list_executions(stateMachineArn=published["state_machine_arn"])["executions"])

    wait_for(lambda: len(executions()) == len(members) and all(e["status"] != "RUNNING" for e in executions()), timeout=180, every=1,
             what="every contact through every activity")  # fmt: skip
    assert {e["status"] for e in executions()} == {"SUCCEEDED"}
    steps = {s["step_id"]: s for s in ok(stack, "GET", f"/journeys/{journey}/analytics")["steps"]}
    assert set(steps) == {"mail", "opened", "pause", "text", "ab", "hold", "last", "route"}
    reached = {
        c for c in members if contacts[c]["email"] and "email_marketing" in (contacts[c]["consents"] or [])
    }  # the others stop at the e-mail
    ways = {w["way"]: w["contacts"] for w in steps["opened"]["ways"]}
    assert ways == {"yes": 0, "no": len(reached)}  # nobody opened, everyone is in Poland
    route = {w["way"]: w["contacts"] for w in steps["route"]["ways"]}
    with_phone = {c for c in reached if contacts[c]["phone"]}
    assert route == {"branches[0]": len(with_phone), "branches[1]": len(reached) - len(with_phone), "else": 0}  # the first match wins
    texted = {c for c in with_phone if "sms_marketing" in (contacts[c]["consents"] or [])}
    assert (steps["text"]["entered"], steps["text"]["sent"], steps["ab"]["entered"]) == (len(with_phone), len(texted), len(texted))
