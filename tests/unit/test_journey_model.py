"""Journey definitions: shape checks on save, publish validation, and the ASL each step kind compiles to
(parsed by the Amazon States Language parser moto's Step Functions runs)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from pydantic import ValidationError

from tern.errors import DefinitionError, NotFoundError
from tern.journeys.asl import STOPPED, compile_journey
from tern.journeys.content import Content, ContentDraft, render
from tern.journeys.model import JourneyDefinition
from tern.journeys.validate import check_publishable, check_shape
from tern.segments.segment import Segment

NOW = dt.datetime(2026, 11, 22, 12)
SENDER = "journeys@tern.example.com"  # the stack's own From, for content that names none
FN = "arn:aws:lambda:eu-central-1:123456789012:function:tern-journey-step-dev"


def classic(**changes: Any) -> dict[str, Any]:
    body = {
        "name": "Launch", "audience": "s1", "start": "announce", "steps": [
            {"id": "announce", "kind": "send_email", "content_id": "e1", "next": "clicked"},
            {"id": "clicked", "kind": "branch_on_event", "message_step": "announce", "event": "clicked",
             "link": "https://shop.example.com/new", "timeout": "P1D", "yes": "launch", "no": "end"},
            {"id": "launch", "kind": "wait_until", "at": "2026-12-08T10:00:00+01:00", "next": "text"},
            {"id": "text", "kind": "send_sms", "content_id": "t1", "next": "end"},
            {"id": "end", "kind": "end"},
        ],
    }  # fmt: skip
    body.update(changes)
    return body


def content(content_id: str) -> Content:
    kinds = {"e1": ("email", "ready"), "t1": ("sms", "ready"), "draft": ("email", "draft")}
    if content_id not in kinds:
        raise NotFoundError(content_id)
    channel, status = kinds[content_id]
    return Content(id=content_id, org_id="acme", name=content_id, channel=channel, status=status, subject="Hi" if channel == "email" else None,  # type: ignore[arg-type]
                   body="<p>x</p>" if channel == "email" else None, text="x" if channel == "sms" else None, created_at=NOW, updated_at=NOW)  # fmt: skip


def segment(segment_id: str) -> Segment:
    if segment_id not in ("s1", "s2"):
        raise NotFoundError(segment_id)
    return Segment(
        id=segment_id,
        org_id="acme",
        name=segment_id,
        where={"all": []},
        status="live" if segment_id == "s1" else "draft",
        created_at=NOW,
        updated_at=NOW,
    )  # type: ignore[arg-type]


def problems(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        check_publishable(JourneyDefinition.model_validate(body), content, segment, NOW, default_sender=SENDER)
    return {p.path: p.message for p in caught.value.problems}


def test_the_classic_journey_compiles_to_parseable_asl_with_one_state_a_step() -> None:
    definition = JourneyDefinition.model_validate(classic())
    check_publishable(definition, content, segment, NOW, default_sender=SENDER)
    asl = compile_journey(definition, FN)
    AmazonStateLanguageParser.parse(json.dumps(asl))  # the interpreter accepts it
    states = asl["States"]
    assert asl["StartAt"] == "announce"
    assert set(states) == {"announce", "clicked", "clicked:timeout", "launch", "text", "end", STOPPED}
    assert states["announce"]["Resource"] == "arn:aws:states:::lambda:invoke" and states["announce"]["Next"] == "clicked"
    assert states["announce"]["Catch"][0]["ErrorEquals"] == ["ContactStopped"]
    assert "RetryLater" in states["announce"]["Retry"][0]["ErrorEquals"]
    branch = states["clicked"]
    assert branch["Resource"].endswith(".waitForTaskToken") and branch["TimeoutSecondsPath"] == "$.timeouts.clicked"
    assert branch["Parameters"]["Payload"]["token.$"] == "$$.Task.Token" and branch["Next"] == "launch"
    assert branch["Catch"][0] == {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": "clicked:timeout"}
    assert states["clicked:timeout"]["Next"] == "end"
    assert states["launch"] == {"Type": "Wait", "TimestampPath": "$.waits.launch", "Next": "text"}
    assert states["end"] == {"Type": "Succeed"}


def test_wait_for_update_contact_and_open_ends_compile() -> None:
    body = classic(start="pause", steps=[
        {"id": "pause", "kind": "wait_for", "duration": "PT6H", "next": "tag"},
        {"id": "tag", "kind": "update_contact", "field": "tags", "action": "add", "value": "vip"},
    ])  # fmt: skip
    asl = compile_journey(JourneyDefinition.model_validate(body), FN)
    AmazonStateLanguageParser.parse(json.dumps(asl))
    assert asl["States"]["pause"] == {"Type": "Wait", "SecondsPath": "$.waits.pause", "Next": "tag"}
    assert asl["States"]["tag"]["End"] is True  # no next: the execution ends there, no extra transition


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        ({"start": "nowhere"}, "start", "there is no step 'nowhere'"),
        ({"audience": "s2"}, "audience", "is draft, not live"),
        ({"audience": "zz"}, "audience", "there is no segment 'zz'"),
        ({"exclusions": ["zz"]}, "exclusions[0]", "there is no segment"),
        ({"mode": "recurring"}, "every", "needs a schedule"),
    ],
)
def test_publishing_names_what_is_wrong(change: dict[str, Any], path: str, fragment: str) -> None:
    found = problems(classic(**change))
    assert fragment in found[path], found


def test_steps_must_exist_be_reachable_end_and_branches_must_watch_an_earlier_send() -> None:
    body = classic()
    body["steps"][3] = {**body["steps"][3], "next": "announce"}  # text -> announce: a loop
    assert "makes a loop" in problems(body)["steps[0]"]
    body = classic()
    body["steps"].append({"id": "orphan", "kind": "end"})
    assert "cannot be reached" in problems(body)["steps[5]"]
    body = classic(start="clicked")
    body["steps"][1] = {**body["steps"][1], "no": "announce"}
    assert "without passing 'announce'" in problems(body)["steps[1].message_step"]
    body = classic()
    body["steps"][0] = {**body["steps"][0], "content_id": "draft"}
    assert "not ready" in problems(body)["steps[0].content_id"]
    body["steps"][0] = {**body["steps"][0], "content_id": "t1"}
    assert "is sms, not email" in problems(body)["steps[0].content_id"]
    body = classic()
    body["steps"][1] = {**body["steps"][1], "yes": "ghost"}
    with pytest.raises(DefinitionError) as caught:
        check_shape(JourneyDefinition.model_validate(body))
    assert caught.value.problems[0].path == "steps[1].yes"


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        ({"id": "w", "kind": "wait_until", "at": "2026-12-08T10:00:00"}, "needs a timezone offset"),
        ({"id": "b", "kind": "branch_on_event", "message_step": "a", "event": "clicked", "timeout": "-PT1H"}, "positive duration"),
        ({"id": "x", "kind": "teleport"}, "teleport"),
        ({"id": "bad id!", "kind": "end"}, "pattern"),
    ],
)
def test_bad_steps_are_refused_with_a_reason(step: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        JourneyDefinition.model_validate(classic(start=step["id"], steps=[step]))
    assert fragment in str(caught.value)


def test_personalisation_and_content_checks() -> None:
    contact = {"first_name": "Ola", "city": None, "attributes": {"tier": "gold"}}
    assert render("Hi {{first_name}} from {{ city | Warsaw }}, {{attributes.tier}}", contact) == "Hi Ola from Warsaw, gold"
    assert render("<b>{{first_name}}</b>", {"first_name": "<script>"}, escape=True) == "<b>&lt;script&gt;</b>"
    with pytest.raises(ValidationError, match="frist_name"):
        ContentDraft(name="x", channel="email", subject="Hi {{frist_name}}")
    with pytest.raises(ValidationError, match="needs text"):
        ContentDraft(name="x", channel="sms", status="ready")


def test_a_splits_conditions_name_send_steps_and_segments_that_exist() -> None:
    body = classic()
    body["steps"][2] = {"id": "launch", "kind": "split", "after": "PT6H", "yes": "text", "no": "end", "condition": {"any": [
        {"kind": "engagement", "message_step": "clicked", "event": "opened"},
        {"not": {"kind": "in_segment", "segment_id": "zz"}},
        {"kind": "engagement", "message_step": "announce", "event": "clicked"}]}}  # fmt: skip
    found = problems(body)
    assert "sends nothing" in found["steps[2].condition.any[0].message_step"]
    assert "there is no segment 'zz'" in found["steps[2].condition.any[1].not.segment_id"]
    assert len(found) == 2
    body["steps"][2]["condition"] = {"kind": "engagement", "message_step": "ghost", "event": "opened"}
    with pytest.raises(DefinitionError) as caught:
        check_shape(JourneyDefinition.model_validate(body))
    assert caught.value.problems[0].path == "steps[2].condition.message_step"
    AmazonStateLanguageParser.parse(json.dumps(compile_journey(JourneyDefinition.model_validate(classic()), FN)))


def test_every_decision_compiles_to_asl_the_parser_takes() -> None:
    body = classic(start="hold", steps=[
        {"id": "hold", "kind": "holdout", "percent": 10, "next": "ab"},
        {"id": "ab", "kind": "random_split", "branches": [{"percent": 50, "next": "vip"}, {"percent": 50}]},
        {"id": "vip", "kind": "split", "condition": {"kind": "tags", "op": "has_any", "values": ["vip"]}, "after": "P1D", "yes": "tier"},
        {"id": "tier", "kind": "multi_split", "branches": [{"condition": {"kind": "gender", "value": "male"}}], "else": "end"},
        {"id": "end", "kind": "end"}])  # fmt: skip
    asl = compile_journey(JourneyDefinition.model_validate(body), FN)
    AmazonStateLanguageParser.parse(json.dumps(asl))
    assert asl["States"]["tier:route"]["Choices"] == [{"Variable": "$.decided.edge", "StringEquals": "else", "Next": "end"}]
