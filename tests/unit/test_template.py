"""template.yaml is valid SAM / CloudFormation: cfn-lint finds no errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    done = subprocess.run([str(cfn_lint), str(ROOT / "template.yaml")], capture_output=True, text=True, timeout=300)
    # exit codes: 0 clean, 2 errors, 4 warnings, 8 informational; errors fail the build
    assert done.returncode & 2 == 0, done.stdout + done.stderr
