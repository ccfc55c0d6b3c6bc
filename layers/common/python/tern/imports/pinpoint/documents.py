"""Reading what users saved from Pinpoint: the API's documents (as `aws pinpoint get-journey` prints them,
wrapped or bare, or a list response), the CLI's input documents (`--cli-input-json`), and CloudFormation
templates (their AWS::Pinpoint resources, with the intrinsic references between them resolved). Each
element is checked against the shape botocore's Pinpoint model gives it; every problem names its path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from tern.aws.shapes import shape_problems
from tern.errors import DefinitionError, Problem, TooLarge

Kind = Literal["segment", "journey", "campaign", "email_template", "sms_template"]
MAX_BYTES = 5 * 1024 * 1024
MAX_ELEMENTS = 500

# kind -> (the response shape, the request shape, the response's fields a request does not have)
SHAPES: dict[Kind, tuple[str, str]] = {
    "segment": ("SegmentResponse", "WriteSegmentRequest"),
    "journey": ("JourneyResponse", "WriteJourneyRequest"),
    "campaign": ("CampaignResponse", "WriteCampaignRequest"),
    "email_template": ("EmailTemplateResponse", "EmailTemplateRequest"),
    "sms_template": ("SMSTemplateResponse", "SMSTemplateRequest"),
}
WRAPPED: dict[str, Kind] = {response: kind for kind, (response, _) in SHAPES.items()} | {
    request: kind for kind, (_, request) in SHAPES.items()
}
LISTS: dict[str, Kind] = {"SegmentsResponse": "segment", "JourneysResponse": "journey", "CampaignsResponse": "campaign"}
ID_FIELDS = {"segment": "SegmentId", "journey": "JourneyId", "campaign": "CampaignId"}  # --cli-input-json's, beside the request
RESPONSE_ONLY = frozenset({"ApplicationId", "Arn", "CreationDate", "LastModifiedDate", "Id", "SegmentType", "SegmentVersion", "TemplateType",
                           "TemplateName", "Version"})  # fmt: skip
DOCUMENTED: dict[str, tuple[str, ...]] = {"AttributeType": ("NOT_BETWEEN",)}  # the API reference lists it; the model's enum does not
CLOUDFORMATION = {
    "AWS::Pinpoint::Segment": "segment", "AWS::Pinpoint::Campaign": "campaign",
    "AWS::Pinpoint::EmailTemplate": "email_template", "AWS::Pinpoint::SmsTemplate": "sms_template",
}  # fmt: skip
CLOUDFORMATION_LEFT_OUT = ("AWS::Pinpoint::PushTemplate", "AWS::Pinpoint::InAppTemplate")


@dataclass(frozen=True)
class Element:
    kind: Kind
    key: str  # how Pinpoint knows it: its Id, a template's name, a CloudFormation resource's logical id
    name: str
    body: dict[str, Any]
    path: str  # where it was read: "welcome.json: JourneyResponse"


@dataclass(frozen=True)
class Skipped:
    """A Pinpoint element Tern has nothing for (a push template in a CloudFormation template)."""

    path: str
    what: str


class _Loader(yaml.SafeLoader):
    """YAML as CloudFormation writes it (its short-form tags), refusing aliases: an anchor repeated a million
    times is a few lines of YAML and an exponential document."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"line {event.start_mark.line + 1}: YAML aliases (*name) are not accepted")
        return super().compose_node(parent, index)


def _intrinsic(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else "Condition" if suffix == "Condition" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _intrinsic)


def parse(text: str, source: str) -> list[tuple[str, Any]]:
    """The documents in one text (JSON, a JSON list of documents, or YAML with one or more documents), each
    with the path it is known by."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise TooLarge([Problem(source, f"larger than {MAX_BYTES // (1024 * 1024)} MiB")])
    try:
        try:
            found: Any = json.loads(text)
            documents = [(f"[{i}]", d) for i, d in enumerate(found)] if isinstance(found, list) else [("", found)]
        except json.JSONDecodeError:
            loaded = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]  # noqa: S506 - a SafeLoader
            documents = [(f"[{i}]" if len(loaded) > 1 else "", d) for i, d in enumerate(loaded)]
    except yaml.YAMLError as e:
        raise DefinitionError([Problem(source, f"neither JSON nor YAML: {' '.join(str(e).split())[:300]}")]) from None
    except RecursionError:
        raise DefinitionError([Problem(source, "nested too deeply")]) from None
    return [(f"{source}: {where}" if where else source, d) for where, d in documents]


def elements(documents: list[tuple[str, Any]]) -> tuple[list[Element], list[Skipped]]:
    """Every Pinpoint element in the documents, checked against its shape; DefinitionError with every problem."""
    found: list[Element] = []
    skipped: list[Skipped] = []
    problems: list[Problem] = []
    for path, document in documents:
        try:
            for element in _read(document, path, skipped):
                problems.extend(_check(element))
                found.append(element)
        except DefinitionError as e:
            problems.extend(e.problems)
    if len(found) > MAX_ELEMENTS:
        raise TooLarge([Problem("", f"{len(found)} elements: an import takes at most {MAX_ELEMENTS}")])
    keys: dict[tuple[str, str], str] = {}
    for element in found:
        if (element.kind, element.key) in keys:
            problems.append(
                Problem(
                    element.path, f"the {element.kind.replace('_', ' ')} {element.key!r} is also at {keys[(element.kind, element.key)]}"
                )
            )
        keys[(element.kind, element.key)] = element.path
    if problems:
        raise DefinitionError(problems)
    return found, skipped


def _read(document: Any, path: str, skipped: list[Skipped]) -> list[Element]:
    if not isinstance(document, dict):
        raise DefinitionError([Problem(path, f"expected an object (a Pinpoint document), got {type(document).__name__}")])
    if "Resources" in document or "AWSTemplateFormatVersion" in document:
        return _cloudformation(document, path, skipped)
    if "TemplatesResponse" in document:
        raise DefinitionError([Problem(_join(path, "TemplatesResponse"), "list-templates gives the templates' names only: save each with "
                                                                          "get-email-template or get-sms-template and import those")])  # fmt: skip
    wrapped = [k for k in document if k in WRAPPED or k in LISTS]
    if len(wrapped) == 1:
        outer = wrapped[0]
        inner, here = document[outer], _join(path, outer)
        if outer in LISTS:
            items = inner.get("Item") if isinstance(inner, dict) else None
            if not isinstance(items, list):
                raise DefinitionError([Problem(f"{here}.Item", "expected the list's items")])
            return [_element(LISTS[outer], item, f"{here}.Item[{i}]", None) for i, item in enumerate(items)]
        kind: Kind | None = WRAPPED[outer]
        assert kind is not None
        extra = {k: v for k, v in document.items() if k != outer}
        key = extra.get(ID_FIELDS.get(kind, "")) or extra.get("TemplateName")
        return [_element(kind, inner, here, str(key) if key else None)]
    if len(wrapped) > 1:
        raise DefinitionError([Problem(path, f"one document per object: found {', '.join(wrapped)}")])
    kind = _guess(document)
    if kind is None:
        raise DefinitionError([Problem(path, "not a Pinpoint document: expected a segment, journey, campaign, e-mail or SMS template "
                                             "(as get-segment, get-journey, ... print it), a list of them, or a CloudFormation template")])  # fmt: skip
    return [_element(kind, document, path, None)]


def _join(path: str, key: str) -> str:
    """A place inside a document: "file.json: JourneyResponse.Activities.a"."""
    if not path:
        return key
    return f"{path}.{key}" if ": " in path else f"{path}: {key}"


def _guess(document: dict[str, Any]) -> Kind | None:
    if "Activities" in document or "StartActivity" in document:
        return "journey"
    if "SegmentGroups" in document or "SegmentType" in document or ("Dimensions" in document and "MessageConfiguration" not in document):
        return "segment"
    if "MessageConfiguration" in document or "TreatmentName" in document or ("SegmentId" in document and "Schedule" in document):
        return "campaign"
    if document.get("TemplateType") == "EMAIL" or "HtmlPart" in document or "Subject" in document:
        return "email_template"
    if document.get("TemplateType") == "SMS" or ("Body" in document and "TemplateName" in document):
        return "sms_template"
    return None


def _element(kind: Kind, body: Any, path: str, key: str | None) -> Element:
    if not isinstance(body, dict):
        raise DefinitionError([Problem(path, f"expected an object, got {type(body).__name__}")])
    if kind in ("email_template", "sms_template"):
        key = key or body.get("TemplateName")
        if not key:
            raise DefinitionError([Problem(f"{path}.TemplateName", "required: a template is known by its name")])
    else:
        key = key or body.get("Id") or (f"name:{body['Name']}" if isinstance(body.get("Name"), str) and body["Name"] else None)
        if not key:
            raise DefinitionError([Problem(f"{path}.Id", "required (or a Name): how else would an import again find what it made?")])
    name = body.get("TemplateName") or body.get("Name") or key
    return Element(kind, str(key), str(name), body, path)


def _check(element: Element) -> list[Problem]:
    response, request = SHAPES[element.kind]
    body = element.body
    if element.kind in ("email_template", "sms_template") and not ("CreationDate" in body or "TemplateType" in body):
        body = {k: v for k, v in body.items() if k != "TemplateName"}  # a request, with its name beside it
        return shape_problems("pinpoint", request, body, element.path, also=DOCUMENTED)
    return shape_problems("pinpoint", response, body, element.path, optional=RESPONSE_ONLY, also=DOCUMENTED)


# ----- CloudFormation


def _cloudformation(template: dict[str, Any], path: str, skipped: list[Skipped]) -> list[Element]:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise DefinitionError([Problem(_join(path, "Resources"), "expected the template's resources")])
    parameters: dict[str, Any] = template["Parameters"] if isinstance(template.get("Parameters"), dict) else {}
    pinpoint = {name: r for name, r in resources.items() if isinstance(r, dict) and r.get("Type") in CLOUDFORMATION}
    names: dict[str, str] = {}  # what Ref / GetAtt of each Pinpoint resource gives: its key here (a template: its name)
    for name, resource in pinpoint.items():
        properties: dict[str, Any] = resource["Properties"] if isinstance(resource.get("Properties"), dict) else {}
        template_name = properties.get("TemplateName")
        names[name] = template_name if CLOUDFORMATION[resource["Type"]].endswith("template") and isinstance(template_name, str) else name
    for name, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") in CLOUDFORMATION_LEFT_OUT:
            skipped.append(Skipped(_join(path, f"Resources.{name}"), f"{resource['Type']}: Tern sends e-mail and SMS only"))
    problems: list[Problem] = []
    found = []
    for name, resource in pinpoint.items():
        here = _join(path, f"Resources.{name}.Properties")
        kind: Kind = CLOUDFORMATION[resource["Type"]]  # type: ignore[assignment]
        if not isinstance(resource.get("Properties"), dict):
            problems.append(Problem(here, "expected the resource's properties"))
            continue
        properties = {k: v for k, v in resource["Properties"].items() if k not in ("ApplicationId", "Tags")}
        try:
            body = _resolve(properties, here, names, parameters)
        except DefinitionError as e:
            problems.extend(e.problems)
            continue
        except (IndexError, KeyError, TypeError, ValueError, AttributeError):
            problems.append(Problem(here, "an intrinsic function Tern cannot work out (write the value)"))
            continue
        body = _as_api(kind, body)
        key = body.get("TemplateName") if kind.endswith("template") else name
        found.append(Element(kind, str(key or name), str(body.get("TemplateName") or body.get("Name") or name), body, here))
    if problems:
        raise DefinitionError(problems)
    return found


def _as_api(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's property names where the API's differ."""
    if kind == "campaign":
        body = {("Hook" if k == "CampaignHook" else k): v for k, v in body.items()}
        for holder in [body, *(body.get("AdditionalTreatments") or [])]:
            schedule = holder.get("Schedule") if isinstance(holder, dict) else None
            if isinstance(schedule, dict) and "TimeZone" in schedule:
                schedule["Timezone"] = schedule.pop("TimeZone")
    return body


def _resolve(value: Any, path: str, names: dict[str, str], parameters: dict[str, Any]) -> Any:
    """The value with CloudFormation's intrinsic functions worked out where they can be without a stack."""
    if isinstance(value, list):
        return [_resolve(v, f"{path}[{i}]", names, parameters) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return _ref(str(argument), path, names, parameters)
        if function == "Fn::GetAtt":
            target = argument if isinstance(argument, list) else str(argument).split(".", 1)
            if isinstance(target, list) and target and str(target[0]) in names:
                return names[str(target[0])]
            raise DefinitionError([Problem(path, f"Fn::GetAtt {argument!r}: only a Pinpoint resource of this template can be read")])
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1] if len(argument) > 1 else {})
            return _substitute(
                str(text), path, names, parameters, {k: _resolve(v, path, names, parameters) for k, v in dict(variables).items()}
            )
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            parts = _resolve(argument[1], path, names, parameters)
            return str(argument[0]).join(str(p) for p in parts)
        if function.startswith("Fn::") or function == "Condition":
            raise DefinitionError([Problem(path, f"{function} cannot be worked out without deploying the template: write the value")])
    return {k: _resolve(v, f"{path}.{k}", names, parameters) for k, v in value.items()}


def _ref(name: str, path: str, names: dict[str, str], parameters: dict[str, Any]) -> Any:
    if name in names:
        return names[name]
    parameter = parameters.get(name)
    if isinstance(parameter, dict) and "Default" in parameter:
        return parameter["Default"]
    raise DefinitionError([Problem(path, f"Ref {name}: neither a Pinpoint resource of the template nor a parameter with a Default")])


def _substitute(text: str, path: str, names: dict[str, str], parameters: dict[str, Any], variables: dict[str, Any]) -> str:
    out, rest = [], text
    while "${" in rest:
        before, _, after = rest.partition("${")
        name, closed, rest = after.partition("}")
        if not closed:
            raise DefinitionError([Problem(path, "Fn::Sub: an unclosed ${")])
        out.append(before)
        if name.startswith("!"):
            out.append("${" + name[1:] + "}")
        elif name in variables:
            out.append(str(variables[name]))
        else:
            out.append(str(_ref(name.split(".", 1)[0], path, names, parameters)))
    return "".join(out) + rest
