"""The console as built and as shipped: its first load within budget, and `tern console publish` putting it in a
deployed stack's bucket with the sign-in config the app reads (moto as the account)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tern.api.app import openapi_document
from tern_local.console import DIST, first_load_kb
from tern_local.publish import PublishFailed, publish

BUDGET_KB = 350  # the first load's JavaScript, gzipped


def test_the_first_load_stays_within_its_budget_and_the_canvas_and_charts_load_later() -> None:
    kb, files = first_load_kb()  # the measure bench/console.py prints
    assert 0 < kb <= BUDGET_KB, f"{kb:.1f} KB gzipped: {files}"
    assert not any("Canvas" in f or "charts" in f for f in files), files  # route-split: loaded when a page needs them


@mock_aws
def test_publish_uploads_the_build_and_the_sign_in_config(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<script type="module" src="/assets/index-abc.js"></script>')
    (dist / "assets" / "index-abc.js").write_text("console.log(1)")
    session = boto3.session.Session(region_name="eu-central-1")
    session.client("s3").create_bucket(Bucket="console-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    outputs = {"ConsoleBucketName": "console-bucket", "SignInDomain": "tern-dev-1.auth.eu-central-1.amazoncognito.com",
               "UserPoolClientId": "client123", "ConsoleUrl": "https://d111.cloudfront.net/"}  # fmt: skip
    template = {"Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}}, "Outputs": {k: {"Value": v} for k, v in outputs.items()}}
    session.client("cloudformation").create_stack(StackName="tern-dev", TemplateBody=json.dumps(template))

    done = publish("tern-dev", dist, session)

    s3 = session.client("s3")
    assert done["bucket"] == "console-bucket" and done["url"] == "https://d111.cloudfront.net/"
    config = json.loads(s3.get_object(Bucket="console-bucket", Key="config.json")["Body"].read())
    assert config == {"auth": "cognito", "domain": outputs["SignInDomain"], "client_id": "client123"}
    asset = s3.get_object(Bucket="console-bucket", Key="assets/index-abc.js")
    assert asset["CacheControl"].endswith("immutable") and asset["ContentType"] == "text/javascript"
    index = s3.get_object(Bucket="console-bucket", Key="index.html")
    assert index["CacheControl"] == "no-cache" and index["ContentType"] == "text/html"


@mock_aws
def test_publish_refuses_a_stack_without_the_console(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("x")
    session = boto3.session.Session(region_name="eu-central-1")
    with pytest.raises(PublishFailed, match="cannot read stack nowhere"):
        publish("nowhere", tmp_path, session)
    template = {"Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"ApiUrl": {"Value": "https://x"}}}
    session.client("cloudformation").create_stack(StackName="old", TemplateBody=json.dumps(template))
    with pytest.raises(PublishFailed, match="no output ConsoleBucketName"):
        publish("old", tmp_path, session)
    with pytest.raises(PublishFailed, match="no built console"):
        publish("old", tmp_path / "missing", session)


def test_the_console_is_built() -> None:
    assert (DIST / "index.html").is_file(), "make test builds console/dist (make console)"


def test_an_api_field_renamed_without_the_console_fails_its_type_check(tmp_path: Path) -> None:
    """The console's API types come from the API's own OpenAPI document, in the build: rename a field the console
    reads (a destination's previous_secret_until) and `tsc` refuses the console."""
    console = Path(__file__).resolve().parents[2] / "console"
    copy = tmp_path / "console"
    shutil.copytree(console / "src", copy / "src", ignore=shutil.ignore_patterns("api"))
    shutil.copy(console / "tsconfig.json", copy / "tsconfig.json")
    (copy / "node_modules").symlink_to(console / "node_modules")
    document = openapi_document()
    fields = document["components"]["schemas"]["Destination"]["properties"]
    fields["overlap_ends_at"] = fields.pop("previous_secret_until")
    (copy / "src" / "api").mkdir()
    (copy / "src" / "api" / "openapi.json").write_text(json.dumps(document))
    bin_ = console / "node_modules" / ".bin"
    generated = subprocess.run([str(bin_ / "openapi-typescript"), "src/api/openapi.json", "--output", "src/api/schema.d.ts"], cwd=copy,
                               capture_output=True, text=True, timeout=120)  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    checked = subprocess.run([str(bin_ / "tsc"), "--noEmit", "-p", "."], cwd=copy, capture_output=True, text=True, timeout=300)
    assert checked.returncode != 0 and "previous_secret_until" in checked.stdout and "Settings.tsx" in checked.stdout, checked.stdout[
        -2000:
    ]
