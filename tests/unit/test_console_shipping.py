"""The console as built and as shipped: its first load within budget, and `tern console publish` putting it in a
deployed stack's bucket with the sign-in config the app reads (moto as the account)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

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
