"""Importing from Amazon Pinpoint: documents shaped by botocore's Pinpoint model, mapped to Tern's drafts in a
real (moto) table, with the report saying what became of each element; hostile documents refused with their
path and nothing written; a second import updates instead of duplicating."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from moto import mock_aws
from pydantic import ValidationError

import pinpoint_docs as pd
from tern.aws.dynamodb import Table
from tern.errors import DefinitionError, TooLarge
from tern.imports.links import ImportLinks
from tern.imports.pinpoint.importer import PinpointImporter
from tern.imports.pinpoint.segments import SegmentMapper, Unmappable
from tern.imports.pinpoint.timing import BadValue
from tern.imports.report import Findings
from tern.journeys.lifecycle import Journeys
from tern.journeys.repository import ContentRepository, JourneyRepository
from tern.lists.repository import ListRepository
from tern.segments.definition import SegmentDefinition
from tern.segments.lifecycle import Segments
from tern.segments.repository import SegmentRepository
from tern_local.template import create_table

from fakes import MemoryScheduler, MemoryTable

NOW = dt.datetime(2026, 11, 23, 12, 0)
REGION = "eu-central-1"


@pytest.fixture()
def importer() -> Iterator[PinpointImporter]:
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name=REGION), "TernTable", "tern")
        table = Table(boto3.resource("dynamodb", region_name=REGION).Table("tern"))
        segments = Segments("acme", SegmentRepository(table), MemoryScheduler(), ListRepository(table))
        journeys = Journeys("acme", JourneyRepository(table), ContentRepository(table), segments, None, None, None, "fn", lambda: NOW)  # type: ignore[arg-type]
        yield PinpointImporter("acme", segments, journeys, ImportLinks(table), lambda: NOW)


def texts(*documents: Any) -> list[tuple[str, str]]:
    return [(f"doc{i}.json", json.dumps(d)) for i, d in enumerate(documents)]


def everything() -> list[tuple[str, str]]:
    return texts(
        pd.email_template(
            "welcome-mail",
            "Hi {{User.UserAttributes.FirstName}}",
            "<p>{{Attributes.City}} awaits</p>",
            defaults={"User.UserAttributes.FirstName": "there"},
        ),
        pd.sms_template("launch-sms", "It is out, {{User.UserAttributes.FirstName}}!"),
        pd.segment("seg-pl", "Poland", {"Location": {"Country": {"DimensionType": "INCLUSIVE", "Values": ["PL"]}}}),
        pd.every_activity("seg-pl", "welcome-mail", "launch-sms"),
    )


def statuses(report: dict[str, Any], element: str) -> list[tuple[str, str]]:
    return [(f["status"], f["note"]) for f in report["findings"] if f["element"].startswith(element)]


def test_a_journey_with_every_activity_type_becomes_a_draft_and_the_report_says_what_changed(importer: PinpointImporter) -> None:
    dry = importer.run(everything(), dry_run=True)
    assert dry["dry_run"] and {o["action"] for o in dry["objects"]} == {"create"}
    assert importer.journeys.list_journeys() == [] and importer.segments.list_segments(NOW) == []  # a dry run writes nothing

    report = importer.run(everything(), dry_run=False)
    made = {(o["kind"], o["pinpoint"]): o for o in report["objects"]}
    assert {o["action"] for o in report["objects"]} == {"created"}
    journey = importer.journeys.get(made[("journey", "j-every")]["tern_id"])
    steps = {s.id: s for s in journey.steps}
    assert journey.status == "draft" and journey.start == "welcome" and journey.audience == made[("segment", "seg-pl")]["tern_id"]
    assert {s.id: s.kind for s in journey.steps} == {
        "welcome": "send_email",
        "clicked": "split",
        "hold": "wait_until",
        "text": "send_sms",
        "ab": "random_split",
        "control": "holdout",
        "pause": "wait_for",
        "where": "multi_split",
    }  # push, call and hook left out
    assert steps["where"].after == dt.timedelta(hours=1) and [b.next for b in steps["where"].branches] == ["pause", "text"]
    clicked = steps["clicked"]
    assert clicked.after == dt.timedelta(days=1) and clicked.yes == "hold" and clicked.no == "where"  # waits, then checks, as Pinpoint does
    assert clicked.condition.model_dump(by_alias=True, exclude_none=True) == {
        "kind": "engagement",
        "message_step": "welcome",
        "event": "clicked",
    }
    assert steps["text"].next == "ab"  # the push step is left out: its predecessor leads on
    assert [b.next for b in steps["ab"].branches] == ["control", None]  # ContactCenter and CUSTOM left out: that branch ends
    assert journey.timezone == "Etc/GMT-1" and journey.mode == "one_time_with_joiners"
    assert journey.reentry.max_entries == 3 and journey.reentry.min_interval == dt.timedelta(days=7)
    assert (
        journey.limits is not None
        and journey.limits.messages_per_contact_in is not None
        and journey.limits.messages_per_contact_in.days == 7
    )
    assert journey.send_window is not None and (journey.send_window.start, journey.send_window.end, journey.send_window.outside) == (
        "08:00",
        "21:00",
        "wait",
    )
    assert [d.isoformat() for d in journey.closed_dates] == ["2026-12-24", "2026-12-25", "2026-12-26"]
    assert statuses(report, "Activities.push")[0][0] == "not mapped" and "push" in statuses(report, "Activities.push")[0][1]
    assert statuses(report, "Activities.call")[0][0] == "not mapped" and statuses(report, "Activities.hook")[0][0] == "not mapped"
    assert statuses(report, "Activities.welcome")[0][0] == "mapped with a difference"  # its sender and template version
    content = importer.journeys.get_content(steps["welcome"].content_id)
    assert (content.subject, content.body, content.status) == (
        "Hi {{first_name|there}}",
        "<p>{{city}} awaits</p>",
        "ready",
    )  # Attributes.City: the city column
    segment = importer.segments.get(made[("segment", "seg-pl")]["tern_id"], NOW)
    assert segment.where.model_dump(by_alias=True, exclude_none=True) == {
        "kind": "attribute",
        "field": "country",
        "op": "in",
        "values": ["PL"],
    }
    assert segment.refresh.model_dump() == {"every": 12, "unit": "hours"}  # the journey's RefreshFrequency
    assert report["summary"]["not mapped"] == 3  # push, call, hook


def test_importing_again_updates_what_the_first_import_made_and_never_duplicates(importer: PinpointImporter) -> None:
    first = importer.run(everything(), dry_run=False)
    again = importer.run(everything(), dry_run=False)
    assert {o["action"] for o in again["objects"]} == {"unchanged"}
    assert [o["tern_id"] for o in again["objects"]] == [o["tern_id"] for o in first["objects"]]
    changed = everything()
    changed[2] = texts(
        pd.segment("seg-pl", "Poland and Czechia", {"Location": {"Country": {"DimensionType": "INCLUSIVE", "Values": ["PL", "CZ"]}}})
    )[0]
    third = importer.run(changed, dry_run=False)
    assert [o["action"] for o in third["objects"] if o["kind"] == "segment"] == ["updated"]
    assert len(importer.segments.list_segments(NOW)) == 1 and len(importer.journeys.list_journeys()) == 1
    dry = importer.run(changed, dry_run=True)
    assert {o["action"] for o in dry["objects"]} == {"update"}


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        (lambda j: j["Activities"]["push"]["PUSH"].update(Bogus=1), "JourneyResponse.Activities.push.PUSH.Bogus", "unknown field"),
        (lambda j: j["Activities"]["pause"]["Wait"].update(NextActivity="welcome"), "JourneyResponse.Activities", "loop"),
        (
            lambda j: j["Activities"]["text"]["SMS"].update(NextActivity="nowhere"),
            "JourneyResponse.Activities.text.SMS.NextActivity",
            "no activity 'nowhere'",
        ),
        (lambda j: j["Limits"].update(DailyCap="1"), "JourneyResponse.Limits.DailyCap", "whole number"),
        (lambda j: j["Activities"]["ab"].update(Holdout={"Percentage": 5}), "JourneyResponse.Activities.ab", "exactly one of"),
        (
            lambda j: j["Activities"]["ab"]["RandomSplit"]["Branches"][0].update(Percentage=40),
            "JourneyResponse.Activities.ab.RandomSplit.Branches",
            "add up to 90",
        ),
        (
            lambda j: j["Activities"]["pause"]["Wait"]["WaitTime"].update(WaitFor="a while"),
            "JourneyResponse.Activities.pause.Wait.WaitTime.WaitFor",
            "ISO",
        ),
        (lambda j: j["Schedule"].update(Timezone="Mars/Olympus"), "JourneyResponse.Schedule.Timezone", "unknown time zone"),
        (lambda j: j.update(StartActivity="ghost"), "JourneyResponse.StartActivity", "not an activity"),
    ],
)
def test_a_hostile_journey_is_refused_with_its_path_and_nothing_is_written(
    importer: PinpointImporter, change: Any, path: str, fragment: str
) -> None:
    documents = [json.loads(t) for _, t in everything()]
    change(documents[3]["JourneyResponse"])
    with pytest.raises(DefinitionError) as caught:
        importer.run(texts(*documents), dry_run=False)
    found = {p.path.split(": ", 1)[-1]: p.message for p in caught.value.problems}  # the path after the file's name
    assert any(p.startswith(path) and fragment in m for p, m in found.items()), found
    assert importer.journeys.list_journeys() == [] and importer.segments.list_segments(NOW) == [] and importer.journeys.list_content() == []


def test_documents_that_are_not_pinpoints_or_too_big_or_bombs_are_refused(importer: PinpointImporter) -> None:
    for text, fragment in [
        ("[1, 2]", "expected an object"), ('{"Hello": "world"}', "not a Pinpoint document"), ("{{{", "neither JSON nor YAML"),
        ("a: &x [1, 2]\nb: [*x, *x]\n", "aliases"), ('{"SegmentResponse": {"Id": "s", "Name": 5}}', "expected text"),
        ('{"SegmentsResponse": {"Item": 7}}', "Item"),
        ('{"TemplatesResponse": {"Item": []}}', "get-email-template"),
    ]:  # fmt: skip
        with pytest.raises(DefinitionError) as caught:
            importer.run([("f.json", text)], dry_run=True)
        assert fragment in str(caught.value), (text, str(caught.value))
    with pytest.raises(TooLarge):
        importer.run([("big.json", json.dumps({"SegmentResponse": {"Name": "x" * (6 * 1024 * 1024)}}))], dry_run=True)
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    with pytest.raises(DefinitionError):
        importer.run([("deep.json", deep)], dry_run=True)


def test_list_responses_cli_input_documents_and_a_cloudformation_template_are_read(importer: PinpointImporter) -> None:
    listed = {"SegmentsResponse": {"Item": [pd.segment("s1", "One", {"Demographic": {"Channel": {"Values": ["EMAIL"]}}})["SegmentResponse"],
                                            pd.segment("s2", "Two", groups={"Include": "ANY", "Groups": [{"SourceSegments": [{"Id": "s1"}], "Type": "ALL"}]})["SegmentResponse"]]}}  # fmt: skip
    cli_input = {"ApplicationId": pd.APP, "WriteCampaignRequest": pd.checked("WriteCampaignRequest", {
        "Name": "Weekly news", "SegmentId": "s2", "HoldoutPercent": 10,
        "MessageConfiguration": {"EmailMessage": {"Title": "News for {{User.UserAttributes.FirstName}}", "HtmlBody": "<p>News</p>"},
                                 "SMSMessage": {"Body": "News!"}, "GCMMessage": {"Body": "push"}},
        "Schedule": {"StartTime": "2026-12-01T08:00:00Z", "Frequency": "WEEKLY", "Timezone": "UTC", "QuietTime": {"Start": "22:00", "End": "07:00"}},
        "Limits": {"Daily": 1, "Total": 4}})}  # fmt: skip
    template = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Country: {Type: String, Default: DE}
Resources:
  App: {Type: AWS::Pinpoint::App, Properties: {Name: shop}}
  Germany:
    Type: AWS::Pinpoint::Segment
    Properties:
      ApplicationId: !Ref App
      Name: !Sub "Customers in ${Country}"
      Dimensions: {Location: {Country: {DimensionType: INCLUSIVE, Values: [!Ref Country]}}}
  Hello:
    Type: AWS::Pinpoint::EmailTemplate
    Properties: {TemplateName: hello, Subject: "Hallo", HtmlPart: "<p>Hallo {{Attributes.FirstName}}</p>"}
  Push: {Type: AWS::Pinpoint::PushTemplate, Properties: {TemplateName: p}}
  Promo:
    Type: AWS::Pinpoint::Campaign
    Properties:
      ApplicationId: !Ref App
      Name: Promo
      SegmentId: !GetAtt Germany.SegmentId
      TemplateConfiguration: {EmailTemplate: {Name: !Ref Hello}}
      Schedule: {StartTime: IMMEDIATE, Frequency: ONCE, TimeZone: UTC+02}
"""
    report = importer.run(
        [("list.json", json.dumps(listed)), ("campaign.json", json.dumps(cli_input)), ("stack.yaml", template)], dry_run=False
    )
    made = {(o["kind"], o["pinpoint"]): o["tern_id"] for o in report["objects"]}
    weekly = importer.journeys.get(made[("journey", "name:Weekly news")])
    assert (weekly.mode, weekly.every.model_dump() if weekly.every else None, weekly.reentry.max_entries) == (
        "recurring",
        {"every": 7, "unit": "days"},
        None,
    )
    assert [s.kind for s in weekly.steps][:1] == ["holdout"] and {s.kind for s in weekly.steps} == {
        "holdout",
        "split",
        "send_email",
        "send_sms",
    }
    assert weekly.send_window is not None and weekly.send_window.outside == "skip"
    assert statuses(report, "the campaign's message (GCMMessage)")[0][0] == "not mapped"
    two = importer.segments.get(made[("segment", "s2")], NOW)
    assert two.where.model_dump(by_alias=True, exclude_none=True) == {"kind": "in_segment", "segment_id": made[("segment", "s1")]}
    germany = importer.segments.get(made[("segment", "Germany")], NOW)
    assert germany.name == "Customers in DE" and germany.where.model_dump(by_alias=True, exclude_none=True)["values"] == ["DE"]
    promo = importer.journeys.get(made[("journey", "Promo")])
    assert promo.audience == germany.id and promo.timezone == "Etc/GMT-2"
    assert importer.journeys.get_content(promo.steps[0].content_id).body == "<p>Hallo {{first_name}}</p>"  # type: ignore[union-attr]
    assert any("PushTemplate" in f["note"] for f in report["findings"])


def test_a_template_variable_tern_cannot_fill_is_reported_and_keeps_the_content_a_draft(importer: PinpointImporter) -> None:
    report = importer.run(
        texts(pd.email_template("t", "Hi", "<p>{{#if User.UserAttributes.Vip}}VIP{{/if}} {{Location.City}} {{EndpointStatus}}</p>")),
        dry_run=False,
    )
    content = importer.journeys.get_content(report["objects"][0]["tern_id"])
    assert content.status == "draft" and "{{city}}" in (content.body or "") and "[[EndpointStatus]]" in (content.body or "")
    missing = {f["element"] for f in report["findings"] if f["status"] == "not mapped"}
    assert missing == {
        "the template HTML: {{#if User.UserAttributes.Vip}}",
        "the template HTML: {{/if}}",
        "the template HTML: {{EndpointStatus}}",
    }


def test_a_journey_naming_a_segment_nobody_imported_is_not_mapped_and_a_missing_template_gets_a_stand_in(
    importer: PinpointImporter,
) -> None:
    body = pd.journey(
        "j2", "Orphan", {"a": {"EMAIL": {"TemplateName": "nowhere"}}}, "a", StartCondition={"SegmentStartCondition": {"SegmentId": "ghost"}}
    )
    report = importer.run(texts(body), dry_run=False)
    assert statuses(report, "(the whole)")[0][0] == "not mapped" and "ghost" in statuses(report, "(the whole)")[0][1]
    assert importer.journeys.list_journeys() == []
    report = importer.run(texts(pd.segment("ghost", "Ghost", {}), body), dry_run=False)
    journey = importer.journeys.list_journeys()[0]
    stand_in = importer.journeys.get_content(journey.steps[0].content_id)  # type: ignore[union-attr]
    assert stand_in.status == "draft" and "nowhere" in stand_in.name
    later = importer.run(texts(pd.email_template("nowhere", "Found", "<p>it</p>")), dry_run=False)
    assert later["objects"][0]["tern_id"] == stand_in.id and later["objects"][0]["action"] == "updated"  # the template fills its stand-in


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pd.strategy("SegmentDimensions"))
def test_any_segment_dimensions_the_model_allows_map_to_a_valid_definition_or_say_why_not(dimensions: dict[str, Any]) -> None:
    findings = Findings("segment")
    try:
        where = SegmentMapper(findings, lambda kind, key: None).dimensions(copy.deepcopy(dimensions), "Dimensions", in_condition=False)
    except (Unmappable, BadValue) as e:
        assert str(e)
        return
    with contextlib.suppress(ValidationError):  # what Tern refuses (too many values) the importer reports as "Tern refuses the result"
        SegmentDefinition.model_validate({"name": "x", "where": where})


def test_the_example_export_has_pinpoints_shapes_and_imports_whole(importer: PinpointImporter) -> None:
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "examples" / "pinpoint"
    files = sorted(folder.glob("*.json"))
    for file in files:
        ((wrapper, body),) = json.loads(file.read_text()).items()
        for item in body["Item"] if wrapper.endswith("sResponse") else [body]:
            pd.checked(wrapper[:-9] + "Response" if wrapper.endswith("sResponse") else wrapper, item)
    report = importer.run([(f.name, f.read_text()) for f in files], dry_run=False)
    assert sorted(o["kind"] for o in report["objects"]) == ["content", "content", "journey", "segment"]
    assert [f["element"] for f in report["findings"] if f["status"] == "not mapped"] == ["Activities.app (PUSH)"]


def memory_importer() -> PinpointImporter:
    table = MemoryTable()
    segments = Segments("acme", SegmentRepository(table), MemoryScheduler(), ListRepository(table))  # type: ignore[arg-type]
    journeys = Journeys("acme", JourneyRepository(table), ContentRepository(table), segments, None, None, None, "fn", lambda: NOW)  # type: ignore[arg-type]
    return PinpointImporter("acme", segments, journeys, ImportLinks(table), lambda: NOW)  # type: ignore[arg-type]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pd.strategy("WriteJourneyRequest"), pd.strategy("WriteCampaignRequest"))
def test_any_journey_or_campaign_the_model_allows_gets_a_report_or_its_problems_never_a_crash(
    journey: dict[str, Any], campaign: dict[str, Any]
) -> None:
    importer = memory_importer()
    for document in ({"WriteJourneyRequest": journey, "JourneyId": "j"}, {"WriteCampaignRequest": campaign, "CampaignId": "c"}):
        try:
            report = importer.run([("doc.json", json.dumps(document))], dry_run=False)
        except DefinitionError as e:
            assert all(p.path.startswith("doc.json") for p in e.problems), e.problems
            continue
        assert set(report["summary"]) == {"mapped", "mapped with a difference", "not mapped"}


def test_values_outside_pinpoints_enumerations_and_broken_cloudformation_are_refused_with_their_path() -> None:
    importer = memory_importer()
    bad = pd.segment(
        "s",
        "S",
        groups={"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"Demographic": {"Channel": {"Values": ["EMAIL"]}}}]}]},
    )
    bad["SegmentResponse"]["SegmentGroups"]["Include"] = "SOME"
    with pytest.raises(DefinitionError) as caught:
        importer.run(texts(bad), dry_run=True)
    assert (
        caught.value.problems[0].path == "doc0.json: SegmentResponse.SegmentGroups.Include"
        and "'SOME' is not one of ALL, ANY, NONE" in caught.value.problems[0].message
    )
    for template, fragment in [
        ("Resources: {S: {Type: 'AWS::Pinpoint::Segment', Properties: [1]}}", "properties"),
        ("Resources: {S: {Type: 'AWS::Pinpoint::Segment', Properties: {Name: !Sub []}}}", "cannot work out"),
        ("Resources: {S: {Type: 'AWS::Pinpoint::Segment', Properties: {Name: !Ref Nowhere}}}", "Ref Nowhere"),
        ("Resources: {S: {Type: 'AWS::Pinpoint::Segment', Properties: {Name: !If [c, a, b]}}}", "without deploying"),
    ]:
        with pytest.raises(DefinitionError) as caught:
            importer.run([("stack.yaml", template)], dry_run=True)
        assert (
            caught.value.problems[0].path.startswith("stack.yaml: Resources.S.Properties") and fragment in caught.value.problems[0].message
        ), caught.value.problems
