"""What `sam build` makes is what Lambda takes: the template passes `sam validate --lint`, builds, and each
function with all its layers stays well under Lambda's 250 MB unzipped limit.

The AWS SAM CLI lives in its own environment (.venv-sam, bootstrapped by `make test` and `make lint`):
its pins would fight the project's own.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
MiB = 1024 * 1024
BUDGET = 200 * MiB  # Lambda allows 250 MB (262,144,000 bytes) unzipped; the rest is room for what comes
# The AWS SDK for pandas layer's unzipped size, as published per version (aws/aws-sdk-pandas#3331: 3.16.1
# grew by 37 MB when Arrow was built with ICU). A version not listed here must be measured before use.
SDK_FOR_PANDAS = {"3.16.0": 167 * MiB, "3.16.1": 204 * MiB}


def _sam(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    if not SAM.is_file():
        pytest.fail("the AWS SAM CLI is missing: `make test` bootstraps it in .venv-sam")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{SAM.parent}:{os.environ['PATH']}"}
    return subprocess.run([str(SAM), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sam") / "build"
    done = _sam("build", "--build-dir", str(out), "--cache-dir", str(out.parent / "cache"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_sam_validate_lint_passes() -> None:
    done = _sam("validate", "--lint", "--region", "eu-central-1")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_layer_is_built_compiled_and_without_what_the_runtime_has(built: Path) -> None:
    layer = built / "CommonLayer" / "python"
    assert (layer / "tern" / "services.py").is_file() and (layer / "pydantic_core").is_dir()
    shipped = {p.name for p in layer.iterdir()}
    assert not shipped & {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"}  # the runtime's
    assert any(p.suffix == ".so" and "aarch64" in p.name for p in (layer / "pydantic_core").iterdir())  # built for arm64
    sources = [p for p in layer.rglob("*.py") if "__pycache__" not in p.parts]
    compiled = {p.parent.parent / p.name.split(".")[0] for p in layer.rglob("__pycache__/*.cpython-311.pyc")}
    assert sources and [p for p in sources if p.with_suffix("") not in compiled] == []  # /opt is read-only


def test_each_function_with_its_layers_stays_within_the_budget(built: Path) -> None:
    template = (ROOT / "template.yaml").read_text()
    version = re.search(r"/aws/service/aws-sdk-pandas/([^/]+)/py3\.11/arm64/layer-arn", template)
    assert version, "SdkForPandasLayer names no version"
    assert version[1] in SDK_FOR_PANDAS, f"measure the AWS SDK for pandas layer {version[1]} and list its size here"
    layers = _size(built / "CommonLayer") + SDK_FOR_PANDAS[version[1]]
    functions = {f.name: _size(f) for f in built.iterdir() if f.is_dir() and f.name.endswith("Function")}
    assert len(functions) == 6
    sizes = {name: size + layers for name, size in functions.items()}
    print({name: f"{size / MiB:.1f} MiB" for name, size in sizes.items()})
    assert max(sizes.values()) <= BUDGET, sizes
