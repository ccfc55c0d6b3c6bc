"""Pinpoint's message templates (and a campaign's own messages) as Tern content.

Pinpoint's message variables are Handlebars: `{{User.UserAttributes.FirstName}}`, `{{Attributes.City}}`,
`{{Location.Country}}`, with defaults in the template's DefaultSubstitutions. Each becomes Tern's
personalisation (`{{first_name|there}}`, `{{attributes.City}}`); a variable Tern cannot fill (a helper such as
`{{#if}}`, the endpoint's status) is reported, left as written, and the content stays a draft so that no
customer gets it unedited.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from tern.imports.pinpoint.segments import column_for
from tern.imports.report import Findings

VARIABLE = re.compile(r"\{\{(\{?)\s*([^{}]*?)\s*\}?\}\}")
SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
LOCATION = {"City": "city", "Country": "country", "PostalCode": "postal_code", "Latitude": "latitude", "Longitude": "longitude"}
DEMOGRAPHIC = {"Locale": "language", "Timezone": "timezone"}
TEXT_LIMIT = 1600  # Tern's SMS text and an e-mail's plain-text part


def field_for(variable: str, channel: str) -> str | None:
    """The Tern personalisation field for a Pinpoint message variable, None when there is none."""
    head, _, rest = variable.partition(".")
    if variable in ("User.UserId", "Id"):
        return "contact_id"
    if variable == "Address":
        return "email" if channel == "email" else "phone"
    if variable.startswith("User.UserAttributes.") or head in ("Attributes", "Metrics"):
        name = variable.split(".", 2)[-1] if variable.startswith("User.") else rest
        column = column_for(name)
        if column and column not in ("tags", "categories", "consents"):
            return column
        return f"attributes.{name}" if SIMPLE.fullmatch(name) else None
    if head == "Location" and rest in LOCATION:
        return LOCATION[rest]
    if head == "Demographic" and rest in DEMOGRAPHIC:
        return DEMOGRAPHIC[rest]
    if head in ("Location", "Demographic") and SIMPLE.fullmatch(rest):
        return f"attributes.{rest}"
    return None


def rewrite(text: str, channel: str, defaults: dict[str, str], where: str, findings: Findings) -> tuple[str, bool]:
    """The text with Pinpoint's variables as Tern's; and whether every one was resolved."""
    unresolved: list[str] = []

    def one(match: re.Match[str]) -> str:
        triple, inner = match.group(1), match.group(2)
        field = field_for(inner, channel) if SIMPLE.fullmatch(inner) else None
        if field is None:
            unresolved.append(match.group(0))
            return f"[[{inner}]]" if SIMPLE.fullmatch(inner) else match.group(0)  # never read as a Tern placeholder
        if triple and channel == "email":
            findings.differs(f"{where}: {match.group(0)}", "Tern escapes the value as text (Pinpoint's triple braces put it in as HTML)")
        fallback = defaults.get(inner)
        if fallback is not None:
            fallback = " ".join(str(fallback).replace("}", ")").replace("{", "(").split())
        return "{{" + field + (f"|{fallback}" if fallback else "") + "}}"

    rewritten = VARIABLE.sub(one, text)
    for variable in dict.fromkeys(unresolved):
        findings.missing(f"{where}: {variable}", "Tern cannot fill this (Handlebars helpers and the endpoint's own data have no Tern equivalent): "
                                               "left in the text (a variable as [[NAME]]); the content stays a draft until edited")  # fmt: skip
    return rewritten, not unresolved


def substitutions(raw: Any, where: str, findings: Findings) -> dict[str, str]:
    if not raw:
        return {}
    try:
        found = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        findings.differs(f"{where}.DefaultSubstitutions", "not JSON: no defaults were kept")
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def email_content(
    name: str, subject: Any, html_part: Any, text_part: Any, defaults: dict[str, str], where: str, findings: Findings
) -> dict[str, Any]:
    """A ContentDraft's fields for an e-mail: ready when it has what an e-mail needs and every variable resolved."""
    complete = True
    out: dict[str, Any] = {"name": name[:200], "channel": "email"}
    if subject:
        out["subject"], ok = rewrite(" ".join(str(subject).split())[:500], "email", defaults, f"{where} subject", findings)
        complete &= ok
    if html_part:
        out["body"], ok = rewrite(str(html_part), "email", defaults, f"{where} HTML", findings)
        complete &= ok
    if text_part:
        text, ok = rewrite(str(text_part), "email", defaults, f"{where} text", findings)
        complete &= ok
        if len(text) <= TEXT_LIMIT:
            out["text"] = text
        elif "body" not in out:
            out["body"] = "<pre>" + html.escape(text) + "</pre>"
            findings.differs(f"{where} text", f"longer than Tern's {TEXT_LIMIT:,} characters of plain text: sent as the HTML body")
        else:
            findings.differs(
                f"{where} text", f"longer than Tern's {TEXT_LIMIT:,} characters of plain text: left out (the HTML part is sent)"
            )
    out["status"] = "ready" if complete and out.get("subject") and (out.get("body") or out.get("text")) else "draft"
    return out


def sms_content(name: str, body: Any, defaults: dict[str, str], where: str, findings: Findings) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name[:200], "channel": "sms"}
    complete = bool(body)
    if body:
        text, ok = rewrite(str(body), "sms", defaults, f"{where} body", findings)
        complete &= ok
        if len(text) > TEXT_LIMIT:
            findings.differs(f"{where} body", f"cut to Tern's {TEXT_LIMIT:,} characters")
            text = text[:TEXT_LIMIT]
        out["text"] = text
    out["status"] = "ready" if complete else "draft"
    return out


def from_note(address: str) -> str:
    """What becomes of a Pinpoint message's FromAddress: Tern content sends from an org's verified sending domain."""
    domain = address.rsplit("@", 1)[-1].strip("> ")
    return (f"Pinpoint sent it from {address}: add {domain} under Sending (its DNS records verified), then set the content's From; "
            "until then it goes from the stack's sender address")  # fmt: skip
