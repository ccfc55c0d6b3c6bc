"""`tern console publish --stack NAME`: the built console into a deployed stack's console bucket.

Reads the stack's outputs (ConsoleBucketName, SignInDomain, UserPoolClientId, ConsoleUrl), uploads console/dist
(hashed assets cached for a year, index.html never), writes config.json telling the console to sign in with
the user pool's hosted UI, and asks CloudFront to forget index.html and config.json. Run after `sam deploy`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3

from tern_local.console import DIST, cache_control, content_type

NEEDED = ("ConsoleBucketName", "SignInDomain", "UserPoolClientId", "ConsoleUrl")


class PublishFailed(Exception):
    pass


def publish(stack: str, dist: Path = DIST, session: Any = None) -> dict[str, Any]:
    """What was published: the bucket, the files, the console's URL."""
    if not (dist / "index.html").is_file():
        raise PublishFailed(f"{dist} holds no built console: run `make console` first")
    aws = session or boto3.session.Session()
    try:
        described = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except Exception as e:  # noqa: BLE001 - any failure to read the stack is the operator's to fix
        raise PublishFailed(f"cannot read stack {stack}: {e}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = [k for k in NEEDED if k not in outputs]
    if missing:
        raise PublishFailed(f"stack {stack} has no output {', '.join(missing)}: deploy this version of template.yaml first")
    s3 = aws.client("s3")
    bucket = outputs["ConsoleBucketName"]
    files = sorted(p for p in dist.rglob("*") if p.is_file())
    for file in [f for f in files if f.name != "index.html"] + [dist / "index.html"]:  # index.html last: it names the assets
        key = file.relative_to(dist).as_posix()
        s3.put_object(Bucket=bucket, Key=key, Body=file.read_bytes(), ContentType=content_type(key), CacheControl=cache_control(key))
    config = {"auth": "cognito", "domain": outputs["SignInDomain"], "client_id": outputs["UserPoolClientId"]}
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config).encode(),
        ContentType="application/json",
        CacheControl=cache_control("config.json"),
    )
    distribution = next((r["PhysicalResourceId"] for r in aws.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
                         if r["LogicalResourceId"] == "ConsoleDistribution"), None)  # fmt: skip
    if distribution:
        aws.client("cloudfront").create_invalidation(DistributionId=distribution, InvalidationBatch={
            "Paths": {"Quantity": 2, "Items": ["/index.html", "/config.json"]}, "CallerReference": f"tern-{time.time_ns()}"})  # fmt: skip
    return {"bucket": bucket, "files": len(files) + 1, "url": outputs["ConsoleUrl"], "invalidated": bool(distribution)}
