"""The security gate (security/checkov_gate.py): checkov over template.yaml and its SAM expansion finds nothing
that security/accepted.yaml does not accept with a reason, and a new finding fails it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def gate(template: Path) -> subprocess.CompletedProcess[str]:
    assert CHECKOV.is_file(), "checkov is not installed: `make test` installs it (.venv-checkov)"
    command = [sys.executable, str(ROOT / "security" / "checkov_gate.py"), "--checkov", str(CHECKOV), "--template", str(template)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def test_the_template_passes_the_gate() -> None:
    run = gate(ROOT / "template.yaml")
    assert run.returncode == 0, run.stderr


def test_a_new_finding_fails_the_gate_and_names_it(tmp_path: Path) -> None:
    weakened = (
        (ROOT / "template.yaml")
        .read_text()
        .replace("      LoggingConfiguration: {DestinationBucketName: !Ref LogsBucket, LogFilePrefix: s3/lake/}\n", "")
    )
    assert weakened != (ROOT / "template.yaml").read_text()
    (tmp_path / "template.yaml").write_text(weakened)
    run = gate(tmp_path / "template.yaml")
    assert run.returncode == 1 and "CKV_AWS_18 fails on LakeBucket" in run.stderr
