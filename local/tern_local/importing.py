"""`tern import pinpoint FILE...`: what was saved from Amazon Pinpoint, sent to a Tern admin API (the local stack's
by default, or a deployment's with --api and a token), and the report printed.

Documents (JSON or YAML: get-segment, get-journey, get-campaign, get-email-template, get-sms-template outputs,
list responses, CloudFormation templates) go together in one POST /imports/pinpoint. Endpoint files (.csv,
.ndjson, .jsonl) of IMPORT segments go first, each to POST /imports/pinpoint/endpoints for its segment: the one
whose ImportDefinition.S3Url ends in the file's name, the only IMPORT segment, or the one given with
--endpoints SEGMENT_ID=FILE.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ENDPOINT_FILES = (".csv", ".ndjson", ".jsonl")


class ImportFailed(Exception):
    """The API refused the import (a 4xx): the message is its first problem, one line."""


def run_import(files: list[str], explicit: list[str], api: str, org: str, token: str | None, dry_run: bool) -> dict[str, Any]:
    documents: dict[str, str] = {}
    endpoint_files: dict[str, bytes] = {}
    for name in files:
        path = Path(name)
        try:
            if path.suffix.lower() in ENDPOINT_FILES:
                endpoint_files[name] = path.read_bytes()
            else:
                documents[path.name if path.name not in documents else name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ImportFailed(f"cannot read {name}: {getattr(e, 'strerror', None) or e}") from None
    pairs = _pair(endpoint_files, documents, explicit)
    lists = []
    if not dry_run:
        for segment, file in pairs.items():
            lists.append(_call(api, org, token, "POST", "/imports/pinpoint/endpoints?" + urllib.parse.urlencode({"segment": segment, "name": Path(file).name[:200]}),
                               endpoint_files[file], "text/csv"))  # fmt: skip
    if not documents:
        return {"lists": lists}
    report = _call(
        api,
        org,
        token,
        "POST",
        "/imports/pinpoint" + ("?dry_run=true" if dry_run else ""),
        json.dumps({"files": documents}).encode(),
        "application/json",
    )
    return {**report, "lists": lists}


def _pair(endpoint_files: dict[str, bytes], documents: dict[str, str], explicit: list[str]) -> dict[str, str]:
    """Each endpoint file's IMPORT segment (its Pinpoint id)."""
    pairs: dict[str, str] = {}
    for item in explicit:
        segment, sep, file = item.partition("=")
        if not sep or file not in endpoint_files:
            raise ImportFailed(f"--endpoints {item}: expected SEGMENT_ID=FILE, FILE one of the files given")
        pairs[segment] = file
    imported = _import_segments(documents)
    for file in endpoint_files:
        if file in pairs.values():
            continue
        named = [s for s, url in imported.items() if url and url.rstrip("/").rsplit("/", 1)[-1] == Path(file).name]
        if len(named) == 1:
            pairs[named[0]] = file
        elif len(imported) == 1 and len(endpoint_files) == 1:
            pairs[next(iter(imported))] = file
        else:
            raise ImportFailed(f"{file}: which IMPORT segment's endpoints are these? name it: --endpoints SEGMENT_ID={file}")
    return pairs


def _import_segments(documents: dict[str, str]) -> dict[str, str | None]:
    """The IMPORT segments in the JSON documents (their id and their endpoint file's S3 URL)."""
    found: dict[str, str | None] = {}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("SegmentType") == "IMPORT" and isinstance(value.get("Id"), str):
                found[value["Id"]] = (value.get("ImportDefinition") or {}).get("S3Url")
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    for text in documents.values():
        try:
            visit(json.loads(text))
        except json.JSONDecodeError:
            continue  # YAML (CloudFormation has no IMPORT segments)
    return found


def _call(api: str, org: str, token: str | None, method: str, path: str, body: bytes, content_type: str) -> dict[str, Any]:
    request = urllib.request.Request(
        api.rstrip("/") + path, data=body, method=method, headers={"Content-Type": content_type, "X-Tern-Org": org}
    )
    if token:
        request.add_header("Authorization", token)  # a Cognito ID token, as the REST API's user pool authorizer reads it
    try:
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - the user's own API
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as e:
        try:
            problem = json.loads(e.read() or b"{}")
        except json.JSONDecodeError:
            problem = {}
        problems = problem.get("problems") or []
        first = f"{problems[0].get('path')}: {problems[0].get('message')}" if problems else problem.get("message") or e.reason
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ImportFailed(f"{e.code}: {first}{more}") from None
    except urllib.error.URLError as e:
        raise ImportFailed(f"cannot reach the Tern API at {api} ({e.reason}): start it with `tern serve`, or give --api") from None


def print_report(report: dict[str, Any], out: Any) -> None:
    for made in report.get("lists", []):
        out.write(f"list      {made['name']!r} for IMPORT segment {made['segment']}: {made['matched']} contacts matched ({made['id']})\n")
    findings: dict[str, list[dict[str, Any]]] = {}
    for finding in report.get("findings", []):
        findings.setdefault(finding["object"], []).append(finding)
    for made in report.get("objects", []):
        out.write(
            f"{made['kind']:<9} {made['name']!r} (Pinpoint {made['pinpoint']}): {made['action']}{' -> ' + made['tern_id'] if made.get('tern_id') else ''}\n"
        )
    for obj, items in findings.items():
        out.write(f"\n{obj}\n")
        for f in items:
            out.write(f"  {f['status']:<25} {f['element']}{': ' + f['note'] if f['note'] else ''}\n")
    if "summary" in report:
        s = report["summary"]
        out.write(f"\n{'Dry run: nothing created. ' if report.get('dry_run') else ''}{s['mapped']} mapped, "
                  f"{s['mapped with a difference']} mapped with a difference, {s['not mapped']} not mapped\n")  # fmt: skip


def default_api() -> str:
    return os.environ.get("TERN_API", "http://127.0.0.1:8000")
