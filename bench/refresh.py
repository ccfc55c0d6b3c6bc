"""Refresh benchmark (`make bench`): a segment's refresh workflow at 10,000 to 1,000,000 members.

Each refresh runs the stages of statemachines/refresh_segment.asl.json in order, as the state machine calls
them (evaluate_segment's `begin`, Athena's UNLOAD of the manifest and the difference query, `plan`, one
`apply` per byte range as the Distributed Map hands them out, `commit`), with the real code: the local
Athena (DuckDB over the lake folder, its Athena API in process) and moto's DynamoDB and S3 in a server
process of their own (so that what moto holds is not counted as Tern's). Printed: the Python heap peak of each
stage above what was held before it (tracemalloc), the item writes counted on the wire, the ranges, and the
seconds. Figures, not pass/fail.

    make bench                                  # 10k, 100k, 1M members; then 1% churn and no change at 1M
    BENCH_SIZES=10000,100000 python bench/refresh.py
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.config import Config
from moto import mock_aws

from tern.engines.duckdb import DuckDBEngine
from tern.observability import logger
from tern.segments.segment import Segment
from tern.services import Services, admin_services, use_runtime
from tern.settings import AdminSettings
from tern.store.ranges import CHUNK_BYTES
from tern.usecases.refresh import refresh_stage
from tern_local.athena import LocalAthena, route_athena_to
from tern_local.generator import CONTACTS_SCHEMA
from tern_local.protocols import bridge_all
from tern_local.runtime import LocalRuntime
from tern_local.template import create_table

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
NOW = dt.datetime(2026, 11, 22, 12)
ORG = "bench"
REGION = "eu-central-1"
ENV = {
    "TERN_TABLE_NAME": "tern-bench", "TERN_RESULTS_BUCKET": "results", "TERN_LAKE_BUCKET": "lake", "TERN_GLUE_DATABASE": "tern_bench",
    "TERN_ATHENA_WORKGROUP": "tern-bench", "TERN_SCHEDULE_GROUP": "tern", "TERN_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
    "TERN_REFRESH_MACHINE_ARN": f"arn:aws:states:{REGION}:123456789012:stateMachine:tern-segment-refreshes-bench",
    "TERN_SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
    "TERN_JOURNEY_RUN_MACHINE_ARN": f"arn:aws:states:{REGION}:123456789012:stateMachine:tern-journey-runs-bench",
    "TERN_JOURNEY_STEP_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:123456789012:function:journey-step",
    "TERN_JOURNEY_RUN_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:123456789012:function:journey-run",
    "TERN_EXPORT_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:123456789012:function:export",
    "TERN_STATE_MACHINE_ROLE_ARN": "arn:aws:iam::123456789012:role/state-machine",
    "TERN_FAILURES_QUEUE_ARN": f"arn:aws:sqs:{REGION}:123456789012:failures", "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "tern", "POWERTOOLS_METRICS_NAMESPACE": "Tern", "POWERTOOLS_LOG_LEVEL": "WARNING",
}  # fmt: skip


def write_contacts(lake: Path, total: int, members: range) -> None:
    """Contacts c0..c{total-1}; those in `members` have lead score 1 (the segment), the rest 0."""
    ids = pa.array([f"c{i:08d}" for i in range(total)])
    scores = pa.array([1 if i in members else 0 for i in range(total)], pa.int64())
    given = {"contact_id": ids, "lead_score": scores}
    arrays = [given[f.name].cast(f.type) if f.name in given else pa.nulls(total, f.type) for f in CONTACTS_SCHEMA]
    folder = lake / "contacts" / f"org_id={ORG}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, schema=CONTACTS_SCHEMA), folder / "part-0.parquet")


class Wire:
    """DynamoDB item writes as botocore sends them."""

    def __init__(self, session: Any):
        self.items = 0
        session.events.register("before-parameter-build.dynamodb", self._count)

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "BatchWriteItem":
            self.items += sum(len(requests) for requests in params["RequestItems"].values())
        elif model.name == "TransactWriteItems":
            self.items += len(params["TransactItems"])
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.items += 1


class Stages:
    """The peak above the level held before, of each stage (the largest over its calls)."""

    def __init__(self) -> None:
        self.peaks: collections.defaultdict[str, int] = collections.defaultdict(int)

    def run(self, stage: str, event: dict[str, Any], services: Services) -> dict[str, Any]:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        answer = refresh_stage({"stage": stage, **event}, services)
        self.peaks[stage] = max(self.peaks[stage], tracemalloc.get_traced_memory()[1] - before)
        return answer


def query(athena: Any, sql: str) -> str:
    query_id = athena.start_query_execution(QueryString=sql, WorkGroup=ENV["TERN_ATHENA_WORKGROUP"])["QueryExecutionId"]
    while (state := athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"])["State"] in ("QUEUED", "RUNNING"):
        time.sleep(0.05)
    if state["State"] != "SUCCEEDED":
        raise SystemExit(f"bench: the query failed: {state.get('StateChangeReason')}")
    return str(query_id)


def refresh(services: Services, athena: Any, s3: Any, evaluation_id: str) -> tuple[dict[str, Any], Stages, int]:
    """The workflow's stages, in the state machine's order; its output, the stages' peaks and the ranges."""
    stages = Stages()
    ids = {"org_id": ORG, "segment_id": "big", "evaluation_id": evaluation_id}
    begun = stages.run("begin", ids, services)
    query(athena, begun["manifest_query"])
    planned = stages.run("plan", {**ids, "query_id": query(athena, begun["difference_query"])}, services)
    ranges = json.loads(s3.get_object(Bucket=planned["bucket"], Key=planned["key"])["Body"].read())
    for one in ranges:
        stages.run("apply", {**ids, "at": begun["at"], "csv": planned["csv"], **one}, services)
    totals = {k: planned[k] for k in ("members", "joined", "left")}
    return stages.run("commit", {**ids, "at": begun["at"], "started": begun["started"], **totals}, services), stages, len(ranges)


def moto_server() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    raise SystemExit("bench: moto_server did not start")


def run(members: int, churn: bool) -> None:
    extra = max(1, members // 200)  # 1% churn: 0.5% leave and as many join
    server, endpoint = moto_server()
    os.environ.update({**ENV, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_ENDPOINT_URL_S3": endpoint})
    with tempfile.TemporaryDirectory() as folder, mock_aws():  # Athena's API in process; DynamoDB and S3 at the server
        lake = Path(folder)
        write_contacts(lake, members + extra, range(members))
        create_table(boto3.client("dynamodb", region_name=REGION), "TernTable", ENV["TERN_TABLE_NAME"])
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in ("results", "lake"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        bridge_all()  # moto routes Athena's rest-json (the installed boto3's protocol) only through the bridge
        athena = boto3.client("athena", region_name=REGION)
        athena.create_work_group(Name=ENV["TERN_ATHENA_WORKGROUP"], Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://results/athena/"}, "EnforceWorkGroupConfiguration": True,
        })  # fmt: skip
        route_athena_to(LocalAthena(DuckDBEngine(lake), s3, settle_seconds=0.0, lake_bucket="lake"))
        runtime = LocalRuntime(lake, lambda: NOW, REGION)
        # moto's TransactWriteItems copies the whole table to be able to roll back: at a million members the
        # commit outlasts botocore's 60 s read timeout here (DynamoDB's own takes milliseconds)
        runtime.aws.session._session.set_default_client_config(Config(read_timeout=900, retries={"max_attempts": 1}))
        wire = Wire(runtime.aws.session)
        use_runtime(runtime)
        try:
            services = admin_services(AdminSettings())  # type: ignore[call-arg]
            services.segment_repository.create(Segment.model_validate({
                "id": "big", "org_id": ORG, "name": "lead score 1", "status": "live", "created_at": NOW, "updated_at": NOW,
                "where": {"all": [{"kind": "attribute", "field": "lead_score", "op": "eq", "value": 1}]},
            }))  # fmt: skip
            steps: list[tuple[str, range | None]] = [("first evaluation: everyone joins", None)]
            if churn:
                steps += [(f"1% churn: {extra:,} leave, {extra:,} join", range(extra, members + extra)), ("nothing changed", None)]
            for n, (label, moved) in enumerate(steps):
                if moved is not None:
                    write_contacts(lake, members + extra, moved)
                wire.items, started = 0, time.perf_counter()
                tracemalloc.start()
                done, stages, ranges = refresh(services, athena, s3, f"e{n}")
                tracemalloc.stop()
                seconds = time.perf_counter() - started
                peaks = " ".join(f"{stages.peaks[s] / 2**20:>7.2f}" for s in ("begin", "plan", "apply", "commit"))
                print(
                    f"{label:<38} {done['members']:>10,} {done['joined']:>9,} {done['left']:>7,} {wire.items:>10,} {ranges:>6,} {peaks} {seconds:>8.1f}"
                )
                sys.stdout.flush()
        finally:
            use_runtime(None)
            route_athena_to(None)
            server.terminate()


def main() -> None:
    logger.setLevel("WARNING")
    print(f"segment refresh workflow: ranges of {CHUNK_BYTES // 1024} KiB; the stages as the state machine calls them, in process\n")
    print(f"{'refresh':<38} {'members':>10} {'joined':>9} {'left':>7} {'writes':>10} {'ranges':>6}   peak MB above held:"
          f"                {'seconds':>8}")  # fmt: skip
    print(f"{'':<86}   begin    plan   apply  commit")
    for size in SIZES:
        run(size, churn=size == SIZES[-1])
    print("\nwrites: DynamoDB items put or deleted on the wire (the members who joined or left, plus 3: the pending note,")
    print("the segment and its history row). apply: the largest of its ranges. seconds: the local stack's (moto's")
    print("DynamoDB over HTTP, one range after another), not AWS's. AWS: the Map writes 10 ranges at once; a segment's")
    print("members share one partition key, which takes about 1,000 writes a second until DynamoDB splits it for heat:")
    print("a first evaluation of 1,000,000 members takes some 17 minutes of writes, spread over ~300 short Lambda calls")
    print("(a range of ~3,000 items is ~120 BatchWriteItem requests), none near Lambda's 15-minute limit.")


if __name__ == "__main__":
    main()
