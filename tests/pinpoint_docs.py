"""Pinpoint documents for the tests, shaped by botocore's Pinpoint model (the shapes the AWS CLI prints):
every document made here is checked against its shape, and `strategy` draws random ones from the shapes."""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.validate import ParamValidator
from hypothesis import strategies as st

APP = "6a1f0c5e2b7d4e9c8f3a2b1c0d9e8f7a"
MODEL = botocore.session.get_session().get_service_model("pinpoint")


def checked(shape: str, document: dict[str, Any]) -> dict[str, Any]:
    report = ParamValidator().validate(document, MODEL.shape_for(shape))
    assert not report.has_errors(), report.generate_report()
    return document


def segment(segment_id: str, name: str, dimensions: dict[str, Any] | None = None, groups: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ApplicationId": APP, "Arn": f"arn:aws:mobiletargeting:eu-west-1:123456789012:apps/{APP}/segments/{segment_id}",
                            "CreationDate": "2025-03-01T10:00:00.000Z", "Id": segment_id, "Name": name, "SegmentType": "DIMENSIONAL", "Version": 3}  # fmt: skip
    if dimensions is not None:
        body["Dimensions"] = dimensions
    if groups is not None:
        body["SegmentGroups"] = groups
    return {"SegmentResponse": checked("SegmentResponse", body)}


def imported_segment(segment_id: str, name: str, file: str) -> dict[str, Any]:
    body = {"ApplicationId": APP, "Arn": "arn:aws:mobiletargeting:eu-west-1:123456789012:apps/x/segments/y", "CreationDate": "2025-03-01T10:00:00.000Z",
            "Id": segment_id, "Name": name, "SegmentType": "IMPORT",
            "ImportDefinition": {"ExternalId": "x", "Format": "CSV", "RoleArn": "arn:aws:iam::123456789012:role/import", "S3Url": f"s3://exports/{file}", "Size": 3}}  # fmt: skip
    return {"SegmentResponse": checked("SegmentResponse", body)}


def email_template(name: str, subject: str, html: str, text: str | None = None, defaults: dict[str, str] | None = None) -> dict[str, Any]:
    import json

    body: dict[str, Any] = {"CreationDate": "2025-03-01T10:00:00.000Z", "LastModifiedDate": "2025-03-02T10:00:00.000Z", "TemplateName": name,
                            "TemplateType": "EMAIL", "Subject": subject, "HtmlPart": html, "Version": "4"}  # fmt: skip
    if text:
        body["TextPart"] = text
    if defaults:
        body["DefaultSubstitutions"] = json.dumps(defaults)
    return {"EmailTemplateResponse": checked("EmailTemplateResponse", body)}


def sms_template(name: str, body_text: str, defaults: dict[str, str] | None = None) -> dict[str, Any]:
    import json

    body: dict[str, Any] = {"CreationDate": "2025-03-01T10:00:00.000Z", "LastModifiedDate": "2025-03-02T10:00:00.000Z", "TemplateName": name,
                            "TemplateType": "SMS", "Body": body_text}  # fmt: skip
    if defaults:
        body["DefaultSubstitutions"] = json.dumps(defaults)
    return {"SMSTemplateResponse": checked("SMSTemplateResponse", body)}


def journey(journey_id: str, name: str, activities: dict[str, Any], start: str, **settings: Any) -> dict[str, Any]:
    body = {"ApplicationId": APP, "Id": journey_id, "Name": name, "Activities": activities, "StartActivity": start,
            "CreationDate": "2025-03-01T10:00:00.000Z", "State": "DRAFT", **settings}  # fmt: skip
    return {"JourneyResponse": checked("JourneyResponse", body)}


def campaign(campaign_id: str, name: str, segment_id: str, **settings: Any) -> dict[str, Any]:
    body = {"ApplicationId": APP, "Arn": f"arn:aws:mobiletargeting:eu-west-1:123456789012:apps/{APP}/campaigns/{campaign_id}",
            "CreationDate": "2025-03-01T10:00:00.000Z", "LastModifiedDate": "2025-03-01T10:00:00.000Z", "Id": campaign_id, "Name": name,
            "SegmentId": segment_id, "SegmentVersion": 1, **settings}  # fmt: skip
    return {"CampaignResponse": checked("CampaignResponse", body)}


def every_activity(segment_id: str, email: str, sms: str) -> dict[str, Any]:
    """A journey with every activity type Pinpoint has, and the settings around them."""
    activities = {
        "welcome": {"EMAIL": {"TemplateName": email, "TemplateVersion": "4", "MessageConfig": {"FromAddress": "news@example.com"}, "NextActivity": "clicked"}},
        "clicked": {"ConditionalSplit": {
            "Condition": {"Operator": "ANY", "Conditions": [{"EventCondition": {"MessageActivity": "welcome", "Dimensions": {"EventType": {"DimensionType": "INCLUSIVE", "Values": ["_email.click"]}}}}]},
            "EvaluationWaitTime": {"WaitFor": "P1D"}, "TrueActivity": "hold", "FalseActivity": "where"}},
        "hold": {"Wait": {"WaitTime": {"WaitUntil": "2026-12-01T09:00:00Z"}, "NextActivity": "text"}},
        "text": {"SMS": {"TemplateName": sms, "MessageConfig": {"MessageType": "PROMOTIONAL"}, "NextActivity": "push"}},
        "push": {"PUSH": {"TemplateName": "app-push", "NextActivity": "ab"}},
        "ab": {"RandomSplit": {"Branches": [{"Percentage": 50, "NextActivity": "control"}, {"Percentage": 50, "NextActivity": "call"}]}},
        "control": {"Holdout": {"Percentage": 10, "NextActivity": "pause"}},
        "pause": {"Wait": {"WaitTime": {"WaitFor": "PT6H"}}},
        "call": {"ContactCenter": {"NextActivity": "hook"}},
        "hook": {"CUSTOM": {"DeliveryUri": "https://hooks.example.com/pinpoint", "EndpointTypes": ["EMAIL"], "MessageConfig": {"Data": "{}"}}},
        "where": {"MultiCondition": {
            "Branches": [
                {"Condition": {"SegmentDimensions": {"Location": {"Country": {"DimensionType": "INCLUSIVE", "Values": ["PL"]}}}}, "NextActivity": "pause"},
                {"Condition": {"SegmentCondition": {"SegmentId": segment_id}}, "NextActivity": "text"},
            ],
            "DefaultActivity": "control", "EvaluationWaitTime": {"WaitFor": "PT1H"}}},
    }  # fmt: skip
    return journey("j-every", "Every activity", activities, "welcome",
                   StartCondition={"SegmentStartCondition": {"SegmentId": segment_id}},
                   Schedule={"StartTime": "2026-12-01T08:00:00Z", "EndTime": "2027-01-31T23:00:00Z", "Timezone": "UTC+01"},
                   Limits={"DailyCap": 1, "TotalCap": 5, "MessagesPerSecond": 50, "EndpointReentryCap": 3, "EndpointReentryInterval": "P7D",
                           "TimeframeCap": {"Cap": 2, "Days": 7}},
                   QuietTime={"Start": "21:00", "End": "08:00"}, WaitForQuietTime=True, RefreshFrequency="PT12H", LocalTime=True,
                   SendingSchedule=True, ClosedDays={"EMAIL": [{"Name": "Christmas", "StartDateTime": "2026-12-24T00:00:00", "EndDateTime": "2026-12-26T23:59:59"}]})  # fmt: skip


# ----- random documents drawn from the shapes


def strategy(shape_name: str, depth: int = 0) -> st.SearchStrategy[Any]:
    """Documents of a Pinpoint shape, as its model allows them (every member optional but the required ones)."""
    shape = MODEL.shape_for(shape_name)
    return _of(shape, depth)


def _of(shape: Any, depth: int) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        required = {m: _of(shape.members[m], depth + 1) for m in shape.required_members}
        optional = {m: _of(s, depth + 1) for m, s in shape.members.items() if m not in shape.required_members}
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "list":
        return st.lists(_of(shape.member, depth + 1), max_size=3)
    if kind == "map":
        return st.dictionaries(st.sampled_from(shape.key.enum) if shape.key.enum else st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True),
                               _of(shape.value, depth + 1), max_size=2)  # fmt: skip
    return _leaf(shape)


def _leaf(shape: Any) -> Any:
    kind = shape.type_name
    if kind == "string":
        if shape.enum:
            return st.sampled_from(shape.enum)
        return st.one_of(st.sampled_from(["PL", "GB", "2026-05-01T00:00:00Z", "gold", "EMAIL", "_email.click", "PT1H", "GREATER_THAN"]),
                         st.text(max_size=12))  # fmt: skip
    if kind == "double":
        return st.floats(-1000, 1000, allow_nan=False)
    if kind == "integer":
        return st.integers(-5, 200)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.just("2026-05-01T00:00:00Z")
    return st.none()
