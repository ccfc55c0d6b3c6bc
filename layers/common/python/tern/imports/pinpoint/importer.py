"""An import from Pinpoint: every document read and checked, every element mapped, then (unless a dry run)
Tern's drafts created or updated, each linked to its Pinpoint id.

Two passes: the first maps everything without writing, so an invalid document (its path named) or a mapping
that breaks Tern's rules stops the import before anything is written; the second writes, in the order the
references need (templates, then segments each after those it names, then journeys and campaigns). An
import cut short in the second pass (a lost connection) is finished by importing the same files again:
what was written is found by its link and updated, never duplicated. An object already live or published in
Tern is left as it is (copy it to change it), and the report says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tern.clock import Clock
from tern.errors import ConflictError, DefinitionError, NotFoundError, Problem
from tern.imports.links import ImportLinks
from tern.imports.pinpoint.campaigns import CampaignMapper
from tern.imports.pinpoint.documents import Element, Skipped, elements, parse
from tern.imports.pinpoint.journeys import DURATION, JourneyMapper
from tern.imports.pinpoint.segments import SegmentMapper, Unmappable
from tern.imports.pinpoint.templates import email_content, from_note, sms_content, substitutions
from tern.imports.pinpoint.timing import BadValue
from tern.imports.report import Finding, Findings
from tern.journeys.content import ContentDraft
from tern.journeys.lifecycle import Journeys
from tern.journeys.model import JourneyDefinition
from tern.journeys.validate import check_shape
from tern.segments.lifecycle import SegmentDraft, Segments
from tern.segments.segment import Every

SOURCE = "pinpoint"
KIND_NAMES = {
    "segment": "segment",
    "journey": "journey",
    "campaign": "campaign",
    "email_template": "e-mail template",
    "sms_template": "SMS template",
}
DEFAULT_REFRESH = {"every": 24, "unit": "hours"}  # Pinpoint's dynamic segments are current whenever used: daily here


@dataclass
class PinpointImporter:
    org_id: str
    segments: Segments
    journeys: Journeys
    links: ImportLinks
    clock: Clock

    def run(self, texts: list[tuple[str, str]], dry_run: bool) -> dict[str, Any]:
        """Import the texts (name, content); the report. DefinitionError (every problem with its path) when a
        document is invalid: then nothing is written."""
        documents = [d for name, text in texts for d in parse(text, name)]
        if not documents:
            where = ", ".join(name for name, _ in texts) or "files"
            raise DefinitionError(
                [Problem(where, "no Pinpoint document: send a get-segment, get-journey, get-campaign or template response")]
            )
        found, skipped = elements(documents)
        trial = _Pass(self, found, skipped, write=False)
        trial.go()
        if trial.problems:
            raise DefinitionError(trial.problems)
        if dry_run:
            return trial.report(dry_run=True)
        real = _Pass(self, found, skipped, write=True)
        real.go()
        if real.problems:  # found only when written (a reference Tern refused): what was written is reported
            real.findings.extend(Finding("(the import)", p.path, "not mapped", p.message) for p in real.problems)
        return real.report(dry_run=False)

    def list_for(self, segment_key: str) -> str | None:
        return self.links.get(self.org_id, SOURCE, "list", segment_key)

    def link_list(self, segment_key: str, list_id: str) -> None:
        self.links.put(self.org_id, SOURCE, "list", segment_key, list_id, self.clock())


@dataclass
class _Pass:
    importer: PinpointImporter
    found: list[Element]
    skipped: list[Skipped]
    write: bool
    problems: list[Problem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    made: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (kind, key) -> Tern id (None: not mapped)
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)  # segment key -> the refresh a journey asks of it

    @property
    def org(self) -> str:
        return self.importer.org_id

    def go(self) -> None:
        for skipped in self.skipped:
            self.findings.append(Finding(skipped.path, "(the whole)", "not mapped", skipped.what))
        by_kind: dict[str, list[Element]] = {}
        for element in self.found:
            by_kind.setdefault(element.kind, []).append(element)
        for element in by_kind.get("journey", []):
            self._refresh_hint(element)
        for element in by_kind.get("email_template", []) + by_kind.get("sms_template", []):
            self._one(element, self._template)
        for element in self._segments_in_order(by_kind.get("segment", [])):
            self._one(element, self._segment)
        for element in by_kind.get("journey", []) + by_kind.get("campaign", []):
            self._one(element, self._journey)

    # ----- one element

    def _one(self, element: Element, make: Callable[[Element, Findings], str | None]) -> None:
        findings = Findings(f"{KIND_NAMES[element.kind]} {element.name!r} ({element.path})")
        try:
            made = make(element, findings)
        except BadValue as e:
            self.problems.append(Problem(e.path, e.message))
            made = None
        except Unmappable as e:
            findings.missing("(the whole)", str(e))
            made = None
        except DefinitionError as e:
            findings.missing("(the whole)", "; ".join(str(p) for p in e.problems)[:500])
            made = None
        except ValidationError as e:
            findings.missing("(the whole)", f"Tern refuses the result: {_first(e)}")
            made = None
        self.made[(element.kind, element.key)] = made
        self.findings.extend(findings.items)

    def _save(self, element_kind: str, key: str, name: str, path: str, tern_kind: str, create: Callable[[], str], update: Callable[[str], str | None],
              findings: Findings) -> str:  # fmt: skip
        """Create the Tern object, or update the one an earlier import made; its id."""
        linked = self.importer.links.get(self.org, SOURCE, element_kind, key)
        if not self.write:
            self.objects.append({"kind": tern_kind, "pinpoint": key, "name": name, "path": path, "tern_id": linked,
                                 "action": "update" if linked else "create"})  # fmt: skip
            return linked or f"pinpoint-{_slug(key)}"
        action = "created"
        if linked is not None:
            try:
                kept = update(linked)
                action = "updated" if kept is None else kept
            except NotFoundError:  # deleted in Tern since: made anew
                linked = None
            except ConflictError as e:
                action = "kept"
                findings.differs("(the whole)", f"the Tern {tern_kind} {linked} was left as it is: {e}")
        if linked is None:
            linked = create()
            self.importer.links.put(self.org, SOURCE, element_kind, key, linked, self.importer.clock())
        self.objects.append({"kind": tern_kind, "pinpoint": key, "name": name, "path": path, "tern_id": linked, "action": action})
        return linked

    # ----- templates and content

    def _template(self, element: Element, findings: Findings) -> str | None:
        body = element.body
        defaults = substitutions(body.get("DefaultSubstitutions"), element.path, findings)
        if element.kind == "email_template":
            fields = email_content(
                element.name, body.get("Subject"), body.get("HtmlPart"), body.get("TextPart"), defaults, "the template", findings
            )
            for extra in ("Headers", "RecommenderId"):
                if body.get(extra):
                    findings.missing(
                        extra,
                        "Tern's content has no custom headers or recommender" if extra == "Headers" else "Tern has no recommender models",
                    )
        else:
            fields = sms_content(element.name, body.get("Body"), defaults, "the template", findings)
            if body.get("RecommenderId"):
                findings.missing("RecommenderId", "Tern has no recommender models")
        if not any(f.element != "(the whole)" for f in findings.items):
            findings.mapped("(the whole)")
        return self._content(element.kind, element.key, element.name, element.path, fields, findings)

    def _content(self, kind: str, key: str, name: str, path: str, fields: dict[str, Any], findings: Findings | None = None) -> str:
        draft = ContentDraft.model_validate(fields)
        journeys = self.importer.journeys

        def update(content_id: str) -> str | None:
            current = journeys.get_content(content_id)
            if ContentDraft.model_validate(current.model_dump(include=set(ContentDraft.model_fields))) == draft:
                return "unchanged"
            journeys.update_content(content_id, draft)
            return None

        return self._save(kind, key, name, path, "content", lambda: journeys.create_content(draft).id, update, findings or Findings(name))

    def template(self, channel: str, name: str, where: str, findings: Findings) -> str:  # journeys.Contents
        kind = "email_template" if channel == "email" else "sms_template"
        if (kind, name) in self.made:
            made = self.made[(kind, name)]
            if made is not None:
                return made
        elif (linked := self.importer.links.get(self.org, SOURCE, kind, name)) is not None:
            return linked
        findings.differs(
            where,
            f"the {KIND_NAMES[kind]} {name!r} is not in this import: an empty draft content stands in for it (import the template, or write it)",
        )
        made_id = self._content(
            kind, name, f"{name} (from Pinpoint, not imported yet)", where, {"name": f"{name} (from Pinpoint)"[:200], "channel": channel}
        )
        self.made[(kind, name)] = made_id
        return made_id

    def message(
        self, channel: str, key: str, name: str, message: dict[str, Any], where: str, findings: Findings
    ) -> str:  # journeys.Contents
        if channel == "email":
            fields = email_content(name, message.get("Title"), message.get("HtmlBody"), message.get("Body"), {}, where, findings)
            if message.get("FromAddress"):
                findings.differs(where, from_note(message["FromAddress"]))
        else:
            fields = sms_content(name, message.get("Body"), {}, where, findings)
        return self._content("campaign_message", key, name, where, fields, findings)

    # ----- segments

    def _segments_in_order(self, segments: list[Element]) -> list[Element]:
        """Each segment after the segments of this import its groups name (a loop is refused)."""
        keys = {s.key: s for s in segments}
        order: list[Element] = []
        state: dict[str, int] = {}

        def visit(element: Element, trail: list[str]) -> None:
            state[element.key] = 1
            for i, group in enumerate((element.body.get("SegmentGroups") or {}).get("Groups") or []):
                for source in group.get("SourceSegments") or []:
                    target = keys.get(str(source.get("Id")))
                    if target is None:
                        continue
                    if state.get(target.key) == 1:
                        self.problems.append(Problem(f"{element.path}.SegmentGroups.Groups[{i}].SourceSegments",
                                                     f"the segments name each other in a loop ({' -> '.join([*trail, target.key])})"))  # fmt: skip
                    elif target.key not in state:
                        visit(target, [*trail, target.key])
            state[element.key] = 2
            order.append(element)

        for element in segments:
            if element.key not in state:
                visit(element, [element.key])
        return order

    def _resolve_segment(self, key: str) -> str | None:
        if ("segment", key) in self.made:
            return self.made[("segment", key)]
        return self.importer.links.get(self.org, SOURCE, "segment", key)

    def _segment(self, element: Element, findings: Findings) -> str | None:
        mapper = SegmentMapper(findings, self._resolve_segment)
        list_id = self.importer.list_for(element.key)
        where = mapper.segment(element.body, list_id)
        static = where.get("kind") == "in_list"
        refresh = "once" if static else self.refresh.get(element.key, DEFAULT_REFRESH)
        if not static and element.key not in self.refresh:
            findings.differs(
                "(refresh)",
                "refreshed every 24 hours once live (Pinpoint evaluated a dynamic segment whenever it was used): change it as you need",
            )
        try:
            draft = SegmentDraft.model_validate({"name": _short(element.name, "Pinpoint segment"), "description": f"Imported from Pinpoint ({element.key})",
                                                 "where": where, "refresh": refresh})  # fmt: skip
        except ValidationError as e:
            raise Unmappable(f"Tern refuses the result: {_first(e)}") from None
        if not findings.items:
            findings.mapped("(the whole)")
        segments, now = self.importer.segments, self.importer.clock()

        def update(segment_id: str) -> str | None:
            current = segments.get(segment_id, now)
            if SegmentDraft.model_validate(current.model_dump(include=set(SegmentDraft.model_fields), by_alias=True)) == draft:
                return "unchanged"
            segments.update(segment_id, draft, now)
            return None

        return self._save(
            "segment", element.key, draft.name, element.path, "segment", lambda: segments.create(draft, now).id, update, findings
        )

    def _refresh_hint(self, journey: Element) -> None:
        """A journey that takes its audience's new members (RefreshFrequency) refreshes that segment as often."""
        body = journey.body
        frequency = body.get("RefreshFrequency")
        segment = ((body.get("StartCondition") or {}).get("SegmentStartCondition") or {}).get("SegmentId")
        if not (frequency and segment):
            return
        try:
            span = DURATION.validate_python(frequency)  # Tern's own ISO 8601 durations: up to a year
        except ValidationError:
            return  # the journey's mapping reports nothing of it; the segment keeps the daily refresh
        self.refresh[str(segment)] = Every(every=math.ceil(span.total_seconds() / 3600), unit="hours").model_dump()

    # ----- journeys and campaigns

    def _journey(self, element: Element, findings: Findings) -> str | None:
        mapper = JourneyMapper(findings, SegmentMapper(findings, self._resolve_segment), self)
        if element.kind == "journey":
            body = mapper.journey(element.body, element.path)
        else:
            body = CampaignMapper(mapper).campaign(element.body, element.key, element.path)
        body["description"] = (body.get("description", "") + f"\nImported from Pinpoint ({element.key})").strip()[:2000]
        try:
            definition = JourneyDefinition.model_validate(body)
            check_shape(definition)
        except ValidationError as e:
            raise Unmappable(f"Tern refuses the result: {_first(e)}") from None
        if not findings.items:
            findings.mapped("(the whole)")
        journeys = self.importer.journeys

        def update(journey_id: str) -> str | None:
            if journeys.get(journey_id).definition() == definition:
                return "unchanged"
            journeys.update(journey_id, definition)
            return None

        return self._save(
            element.kind, element.key, definition.name, element.path, "journey", lambda: journeys.create(definition).id, update, findings
        )

    # ----- the report

    def report(self, dry_run: bool) -> dict[str, Any]:
        counts = {"mapped": 0, "mapped with a difference": 0, "not mapped": 0}
        for finding in self.findings:
            counts[finding.status] += 1
        return {"dry_run": dry_run, "objects": self.objects, "findings": [f.json() for f in self.findings], "summary": counts}


def _first(e: ValidationError) -> str:
    error = e.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def _short(name: str, fallback: str) -> str:
    return " ".join(name.split())[:200] or fallback


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", key)[:60]
