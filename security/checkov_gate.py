"""The security gate: checkov over template.yaml and over the CloudFormation SAM expands it to, against the
findings accepted in security/accepted.yaml, each with its reason.

    .venv/bin/python security/checkov_gate.py [--checkov .venv-checkov/bin/checkov]

It fails (exit 1, one line per finding on stderr) on a failed check that is not accepted, and on an accepted
finding that no longer fails (the baseline says only what is true). Both runs: checkov reads most
AWS::Serverless::* resources itself, but the IAM roles, stages and permissions SAM generates exist only in the
expanded template. checkov runs offline (--skip-download), so its checks are the ones its locked version ships.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[1]
ACCEPTED = ROOT / "security" / "accepted.yaml"
# What `sam build` would upload: the translator takes only S3 locations there.
_LOCAL_URIS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class _NoIam(ManagedPolicyLoader):
    """Managed policy names from the translator's own list: no call to IAM."""

    def __init__(self) -> None:
        super().__init__(iam_client=None)  # type: ignore[arg-type]

    def load(self) -> dict[str, str]:
        return {}


def expanded(template: Path) -> dict[str, Any]:
    """The template as CloudFormation deploys it after the SAM transform (offline; the region only fills pseudo parameters)."""
    sam = yaml_parse(template.read_text(encoding="utf-8"))
    for resource in sam.get("Resources", {}).values():
        key = _LOCAL_URIS.get(resource.get("Type", ""))
        if key and isinstance(resource.get("Properties", {}).get(key), str):
            resource["Properties"][key] = f"s3://local-build/{resource['Properties'][key]}"
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    return dict(transform(sam, {}, _NoIam(), passthrough_metadata=True))


def failed(checkov: str, path: Path) -> set[tuple[str, str]]:
    """(check id, resource) of every failed check; the resource as `Logical id`, whatever its type."""
    run = subprocess.run(
        [checkov, "-f", str(path), "--framework", "cloudformation", "-o", "json", "--quiet", "--skip-download", "--compact"],
        capture_output=True, text=True, check=False, env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )  # fmt: skip
    if run.returncode not in (0, 1):
        raise SystemExit(f"security gate: checkov could not run over {path.name}: {run.stderr.strip().splitlines()[-1:] or run.returncode}")
    reports = json.loads(run.stdout or "[]")
    found = set()
    for report in reports if isinstance(reports, list) else [reports]:
        for finding in report.get("results", {}).get("failed_checks", []):
            found.add((finding["check_id"], str(finding["resource"]).rsplit(".", 1)[-1]))
    return found


def accepted() -> dict[tuple[str, str], str]:
    """(check id, resource) -> the reason it is accepted."""
    entries = yaml.safe_load(ACCEPTED.read_text(encoding="utf-8")) or []
    found: dict[tuple[str, str], str] = {}
    for entry in entries:
        reason = str(entry.get("reason") or "").strip()
        if len(reason) < 20:
            raise SystemExit(f"security gate: {ACCEPTED.name}: {entry.get('check')} needs a reason a reviewer can accept")
        for resource in entry["resources"]:
            found[(str(entry["check"]), str(resource))] = reason
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description="checkov over template.yaml and its SAM expansion, against security/accepted.yaml")
    parser.add_argument("--checkov", default=str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    args = parser.parse_args()
    template = Path(args.template)
    with tempfile.TemporaryDirectory() as folder:
        cfn = Path(folder) / "expanded.json"
        cfn.write_text(json.dumps(expanded(template)), encoding="utf-8")
        findings = failed(args.checkov, template) | failed(args.checkov, cfn)
    baseline = accepted()
    new = sorted(findings - baseline.keys())
    gone = sorted(baseline.keys() - findings)
    for check, resource in new:
        print(
            f"security gate: {check} fails on {resource}: fix it, or accept it in security/accepted.yaml with the reason", file=sys.stderr
        )
    for check, resource in gone:
        print(f"security gate: {check} no longer fails on {resource}: remove it from security/accepted.yaml", file=sys.stderr)
    print(
        f"security gate: {len(findings)} findings, all accepted with reasons" if not new and not gone else "security gate: failed",
        file=sys.stderr,
    )
    return 1 if new or gone else 0


if __name__ == "__main__":
    sys.exit(main())
