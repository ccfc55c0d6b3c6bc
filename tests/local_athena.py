"""boto3's Athena client answered by the local Athena (tern_local.athena) over a lake folder, as the unit tests use
it: workgroup tern-test, its results in s3://results/athena/ (moto), and Tern's AthenaEngine on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from tern.engines.athena import AthenaEngine
from tern.engines.duckdb import DuckDBEngine
from tern_local.athena import LocalAthena, route_athena_to

REGION = "eu-central-1"


@contextmanager
def local_athena(lake: Path) -> Iterator[Any]:
    """The Athena client, within moto, answered from DuckDB over `lake` until the block ends."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="results", CreateBucketConfiguration={"LocationConstraint": REGION})
        client = boto3.client("athena", region_name=REGION)
        client.create_work_group(Name="tern-test", Configuration={
            "EnforceWorkGroupConfiguration": True, "ResultConfiguration": {"OutputLocation": "s3://results/athena/"},
        })  # fmt: skip
        route_athena_to(LocalAthena(DuckDBEngine(lake), s3))
        try:
            yield client
        finally:
            route_athena_to(None)


def athena_engine(client: Any, page_size: int = 1000) -> AthenaEngine:
    """Tern's Athena engine on that client (its results read back from the results bucket)."""
    return AthenaEngine(
        client,
        "tern-test",
        "tern",
        first_poll_s=0.01,
        page_size=page_size,
        s3_client=boto3.client("s3", region_name=REGION),
        results_bucket="results",
    )
