"""What `sam build` makes is what Lambda takes: the template passes `sam validate --lint`, builds, and each
function with all its layers stays well under Lambda's 250 MB unzipped limit.

The layer installs from its lock only (layers/common/requirements.lock, hashes checked) and ships the AWS SDK
at the dev lock's versions: what runs in Lambda is what the tests ran, not whatever SDK the runtime bundles.
botocore keeps only the service models listed in layers/common/botocore-services.txt.

The AWS SAM CLI lives in its own environment (.venv-sam, bootstrapped by `make test` and `make lint`):
its pins would fight the project's own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
LAYER_SOURCE = ROOT / "layers" / "common"
LOCK = LAYER_SOURCE / "requirements.lock"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
MiB = 1024 * 1024
# Lambda allows 250 MB (262,144,000 bytes, 238.4 MiB) unzipped. 200 MiB until the layer shipped its own SDK (boto3
# and a trimmed botocore, 9.3 MiB: what runs in Lambda is what the tests ran); the rest is room for what comes.
BUDGET = 210 * MiB
# The AWS SDK for pandas layer's unzipped size, as published per version (aws/aws-sdk-pandas#3331: 3.16.1
# grew by 37 MB when Arrow was built with ICU). A version not listed here must be measured before use.
SDK_FOR_PANDAS = {"3.16.0": 167 * MiB, "3.16.1": 204 * MiB}
SDK = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")  # boto3 and what it pulls in
SDK_MODULES = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"}


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


def _pins(lock: Path) -> dict[str, str]:
    """name -> version of a uv/pip lock's `name==version \\` lines."""
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", lock.read_text(), re.M)}


def _kept_services() -> list[str]:
    lines = (LAYER_SOURCE / "botocore-services.txt").read_text().splitlines()
    return [name for line in lines if (name := line.split("#")[0].strip())]


def test_sam_validate_lint_passes() -> None:
    done = _sam("validate", "--lint", "--region", "eu-central-1")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_layer_is_built_from_its_lock_compiled_and_with_the_sdk(built: Path) -> None:
    layer = built / "CommonLayer" / "python"
    assert (layer / "tern" / "services.py").is_file() and (layer / "pydantic_core").is_dir()
    shipped = {p.name for p in layer.iterdir()}
    assert shipped >= SDK_MODULES, SDK_MODULES - shipped  # the SDK the tests ran, not the runtime's
    assert any(p.suffix == ".so" and "aarch64" in p.name for p in (layer / "pydantic_core").iterdir())  # built for arm64
    sources = [p for p in layer.rglob("*.py") if "__pycache__" not in p.parts]
    compiled = {p.parent.parent / p.name.split(".")[0] for p in layer.rglob("__pycache__/*.cpython-311.pyc")}
    assert sources and [p for p in sources if p.with_suffix("") not in compiled] == []  # /opt is read-only
    # exactly the locked distributions: the build checks it, and so does this (with the script the build runs)
    done = subprocess.run([sys.executable, str(LAYER_SOURCE / "check_lock.py"), str(LOCK), str(layer)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_lock_check_names_what_is_not_locked(tmp_path: Path) -> None:
    for name, version in (("six", "1.17.0"), ("boto3", "1.0.0")):
        (tmp_path / f"{name}-{version}.dist-info").mkdir()
        (tmp_path / f"{name}-{version}.dist-info" / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (tmp_path / "extra-1.0.dist-info").mkdir()
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "boto3==1.44.18 \\\n    --hash=sha256:00\nsix==1.17.0 \\\n    --hash=sha256:00\nurllib3==2.8.0 \\\n    --hash=sha256:00\n"
    )
    done = subprocess.run([sys.executable, str(LAYER_SOURCE / "check_lock.py"), str(lock), str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"check_lock: boto3 is 1.0.0 in {tmp_path} but 1.44.18 in {lock}",
        f"check_lock: extra 1.0 is in {tmp_path} but not in {lock}",
        f"check_lock: urllib3 2.8.0 is in {lock} but not in {tmp_path}",
    ]


def test_the_layer_locks_the_sdk_the_tests_run() -> None:
    """The layer's packages are the dev environment's, boto3 and botocore among them (its lock is compiled with
    the dev lock as constraints): a call or parameter only a newer botocore knows cannot pass the tests and then
    fail Lambda's parameter validation, nor a pydantic the tests never ran validate the API's input."""
    layer, dev = _pins(LOCK), _pins(DEV_LOCK)
    assert all(name in layer for name in SDK), [name for name in SDK if name not in layer]
    differ = {name: (version, dev[name]) for name, version in layer.items() if name in dev and dev[name] != version}
    assert differ == {}, f"the layer locks other versions than the tests ran (layer, dev): {differ}; run `make lock`"


def test_botocore_keeps_every_service_the_code_names() -> None:
    """Every service Tern's Lambda code names (a client, a resource, a model it checks documents against) is
    in botocore-services.txt, whose models alone the layer keeps."""
    sources = [*(LAYER_SOURCE / "python" / "tern").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    call = re.compile(r"""\b(?:client|resource|shape_problems|get_service_model|create_client)\(\s*["']([a-z0-9-]+)["']""")
    named = {m[1] for source in sources for m in call.finditer(source.read_text())}
    assert {"athena", "dynamodb", "s3", "pinpoint"} <= named  # the search finds what it looks for
    assert named - set(_kept_services()) == set()


def test_the_built_botocore_makes_a_client_of_each_kept_service_and_of_no_other(built: Path) -> None:
    layer = built / "CommonLayer" / "python"
    kept = _kept_services()
    assert {p.name for p in (layer / "botocore" / "data").iterdir() if p.is_dir()} == set(kept)
    code = (
        "import boto3, botocore, botocore.exceptions, botocore.session\n"
        f"assert botocore.__file__.startswith({str(layer)!r}), botocore.__file__\n"
        "session = boto3.session.Session(region_name='eu-central-1')\n"
        f"for service in {kept!r}: session.client(service)\n"
        "session.resource('dynamodb').Table('t')\n"
        "botocore.session.get_session().get_service_model('pinpoint').shape_for('JourneyResponse')\n"
        "try:\n    session.client('ec2')\nexcept botocore.exceptions.UnknownServiceError:\n    pass\n"
        "else:\n    raise SystemExit('ec2 is still there: botocore was not trimmed')\n"
        "print(boto3.__version__, botocore.__version__)\n"
    )
    env = {  # the layer alone (-S: no site-packages), dummy credentials, no config: nothing leaves the machine
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(layer),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run([sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    pins = _pins(LOCK)
    assert done.stdout.split() == [pins["boto3"], pins["botocore"]]


def test_each_function_with_its_layers_stays_within_the_budget(built: Path) -> None:
    """Each function with the layers it has: the common one and the AWS SDK for pandas managed one (pyarrow), or, for
    the preview function, the common one and DuckDB's (both DuckDB and pyarrow would not fit)."""
    template = (ROOT / "template.yaml").read_text()
    version = re.search(r"/aws/service/aws-sdk-pandas/([^/]+)/py3\.11/arm64/layer-arn", template)
    assert version, "SdkForPandasLayer names no version"
    assert version[1] in SDK_FOR_PANDAS, f"measure the AWS SDK for pandas layer {version[1]} and list its size here"
    common, duckdb = _size(built / "CommonLayer"), _size(built / "DuckDBLayer")
    functions = {f.name: _size(f) for f in built.iterdir() if f.is_dir() and f.name.endswith("Function")}
    assert len(functions) == 7
    sizes = {
        name: size + common + (duckdb if name == "PreviewFunction" else SDK_FOR_PANDAS[version[1]]) for name, size in functions.items()
    }
    print(
        {"CommonLayer": f"{common / MiB:.2f} MiB", "DuckDBLayer": f"{duckdb / MiB:.2f} MiB"},
        {name: f"{size / MiB:.1f} MiB" for name, size in sizes.items()},
    )
    assert max(sizes.values()) <= BUDGET, sizes


def test_the_duckdb_layer_is_the_locked_duckdb_for_arm64_compiled(built: Path) -> None:
    """The preview function's DuckDB is the one the tests ran (its lock is compiled with the dev lock as constraints),
    built for the runtime (arm64), alone, with its .pyc (/opt is read-only)."""
    layer = built / "DuckDBLayer" / "python"
    locked, dev = _pins(LAYER_SOURCE.parent / "duckdb" / "requirements.lock"), _pins(DEV_LOCK)
    assert set(locked) == {"duckdb"} and locked["duckdb"] == dev["duckdb"]
    assert sorted(p.name for p in layer.glob("*.dist-info")) == [f"duckdb-{locked['duckdb']}.dist-info"]
    assert any("aarch64" in p.name for p in layer.rglob("*.so"))
    assert list(layer.rglob("__pycache__/*.cpython-311.pyc"))
