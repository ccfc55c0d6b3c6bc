"""Cost benchmark (`make bench`): what the classic journey costs in AWS per 1,000 contacts, beside Pinpoint.

The classic journey (an e-mail, a day's wait for a click on the launch link, the clickers held until the
launch and sent an SMS; every fifth recipient clicks) runs on the local stack for BENCH_COST_CONTACTS
contacts, from the audience's refresh to the last execution. Its billable units are counted on the wire:
- every request that reaches the local AWS (moto's server): DynamoDB read and write request units from the
  items each request carries and each answer returns, S3 requests by price class, Step Functions' and
  Scheduler's own calls;
- Step Functions state transitions from every execution's history (journeys, the run, the refresh and their
  Distributed Map children);
- Lambda requests and GB-seconds from every invocation of a function (its wall time here, on a machine where
  moto answers slower than AWS: an upper bound) at its memory size in template.yaml;
- Athena bytes scanned as the local Athena reports them (every file of every table read: an upper bound),
  billed at least 10 MB a query;
- the events Tern writes (Firehose in the cloud: each record billed as 5 KB at least, plus Parquet
  conversion), the log lines the functions write (CloudWatch Logs ingestion), X-Ray traces at the default
  sampling (the first request each second and 5% of the rest: counted as 5%).
Times AWS's published on-demand prices (us-east-1, arm64), below. The e-mails and SMS themselves (SES,
End User Messaging) cost the same whichever tool sends them: channel fees aside, as Pinpoint's figure is.

    BENCH_COST_CONTACTS=300 python bench/cost.py
"""

from __future__ import annotations

import collections
import io
import json
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import pyarrow.dataset as ds

from journeys import SCALE, drive
from tern_local.demo_stack import free_port
from tern_local.generator import generate
from tern_local.stack import REGION, LocalStack

CONTACTS = int(os.environ.get("BENCH_COST_CONTACTS", "300"))
GOAL = 0.15  # dollars per 1,000 contacts, channel fees aside

# AWS on-demand prices, us-east-1, as published (checked 2026-11): dollars per unit.
PRICES = {
    "Step Functions state transitions (Standard)": 0.025 / 1_000,
    "Lambda requests": 0.20 / 1_000_000,
    "Lambda GB-seconds (arm64)": 0.0000133334,
    "DynamoDB write request units (on-demand)": 0.625 / 1_000_000,
    "DynamoDB read request units (on-demand)": 0.125 / 1_000_000,
    "S3 PUT, COPY, POST, LIST requests": 0.005 / 1_000,
    "S3 GET and other requests": 0.0004 / 1_000,
    "Athena TB scanned": 5.0,
    "Firehose GB ingested (5 KB records)": 0.029,
    "Firehose GB converted to Parquet": 0.018,
    "CloudWatch Logs GB ingested": 0.50,
    "X-Ray traces recorded": 5.0 / 1_000_000,
    "EventBridge Scheduler invocations": 1.0 / 1_000_000,
}
# Paid once a run, not per contact: the refresh's and the run's queries (billed 10 MB at least), the schedule.
PER_RUN = {"Athena TB scanned", "EventBridge Scheduler invocations"}
# Amazon Pinpoint (until 2026-10-30): each endpoint a journey targets in a month, and each event it records.
PINPOINT_PER_ENDPOINT = 0.0012
PINPOINT_PER_EVENT = 0.000001


class Wire:
    """Every request the local AWS answers, read as AWS bills it."""

    def __init__(self) -> None:
        self.units: collections.Counter[str] = collections.Counter()
        self.requests: collections.Counter[str] = collections.Counter()

    def install(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        wire, original = self, DomainDispatcherApplication.__call__

        def counted(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            answer = b"".join(original(app, environ, start_response))
            wire.count(environ, body, answer)
            return [answer]

        DomainDispatcherApplication.__call__ = counted  # type: ignore[method-assign,assignment]

    def count(self, environ: dict[str, Any], body: bytes, answer: bytes) -> None:
        scope = environ.get("HTTP_AUTHORIZATION", "").split("Credential=")[-1].split("/")
        service = scope[3] if len(scope) > 3 else "?"
        target = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        self.requests[f"{service}:{target or environ['REQUEST_METHOD']}"] += 1
        if service == "dynamodb":
            self._dynamodb(target, json.loads(body or b"{}"), len(answer))
        elif service == "s3":
            get = environ["REQUEST_METHOD"] in ("GET", "HEAD") and "list-type" not in environ.get("QUERY_STRING", "")
            if environ["REQUEST_METHOD"] != "DELETE":
                self.units["S3 GET and other requests" if get else "S3 PUT, COPY, POST, LIST requests"] += 1

    def _dynamodb(self, operation: str, request: dict[str, Any], answered: int) -> None:
        def wru(item: Any) -> int:
            return max(1, math.ceil(len(json.dumps(item)) / 1024))

        read = 1.0 if request.get("ConsistentRead") else 0.5
        writes = reads = 0.0
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            writes = wru(request.get("Item") or request.get("Key"))
        elif operation == "BatchWriteItem":
            writes = sum(
                wru(r.get("PutRequest", {}).get("Item") or r["DeleteRequest"]["Key"]) for rs in request["RequestItems"].values() for r in rs
            )
        elif operation == "TransactWriteItems":
            writes = 2 * sum(wru(next(iter(i.values())).get("Item") or next(iter(i.values())).get("Key")) for i in request["TransactItems"])
        elif operation == "GetItem":
            reads = read * max(1, math.ceil(answered / 4096))
        elif operation == "BatchGetItem":
            reads = sum(read * len(t["Keys"]) for t in request["RequestItems"].values())
        elif operation in ("Query", "Scan"):
            reads = read * max(1, math.ceil(answered / 4096))
        self.units["DynamoDB write request units (on-demand)"] += writes  # type: ignore[assignment]
        self.units["DynamoDB read request units (on-demand)"] += reads  # type: ignore[assignment]


class Bytes(io.TextIOBase):
    """A stream that counts what is written to it: the functions' log lines, as CloudWatch Logs ingests them."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text.encode())
        return len(text)


def count_invocations(stack: LocalStack, units: collections.Counter[str]) -> None:
    """Each function's handler timed as Lambda bills it: from its start to its answer, in whole milliseconds."""
    for logical, module in stack.functions.items():
        memory = int(stack.resolver.resources[logical]["Properties"].get("MemorySize", 1024))

        def handler(event: Any, context: Any, _original: Any = module.lambda_handler, _gb: float = memory / 1024) -> Any:
            began = time.perf_counter()
            try:
                return _original(event, context)
            finally:
                units["Lambda requests"] += 1
                units["Lambda GB-seconds (arm64)"] += math.ceil((time.perf_counter() - began) * 1000) / 1000 * _gb  # type: ignore[assignment]

        setattr(module, "lambda_handler", handler)  # noqa: B010 - the function module, as the stack loaded it


def events_in(lake: Path) -> int:
    """The events in the lake: the generated history, then what Tern writes (Firehose records in the cloud)."""
    return int(ds.dataset(lake / "events", format="parquet", partitioning="hive").count_rows())


def transitions(stack: LocalStack) -> int:
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    total = 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine["stateMachineArn"]):
            for execution in page["executions"]:
                token, kwargs = None, {"executionArn": execution["executionArn"], "maxResults": 1000}
                while True:
                    history = sfn.get_execution_history(**kwargs, **({"nextToken": token} if token else {}))
                    total += sum(1 for e in history["events"] if e["type"].endswith("StateEntered"))
                    token = history.get("nextToken")
                    if not token:
                        break
    return total


def main() -> None:
    environment = dict(os.environ)
    wire = Wire()
    wire.install()
    logs = Bytes()
    with tempfile.TemporaryDirectory() as folder:
        lake = Path(folder)
        generate(lake, contacts=CONTACTS, events_per_contact=2, days=10, org="bench", seed=3)
        stack = LocalStack(lake, port=free_port(), aws_port=free_port(), time_scale=SCALE, log_level="INFO")
        stack.start()
        try:
            for handler in logging.getLogger("tern").handlers:  # the functions' log lines: counted, not shown
                if isinstance(handler, logging.StreamHandler):
                    handler.setStream(logs)  # type: ignore[arg-type]
            wire.units.clear()
            wire.requests.clear()
            count_invocations(stack, wire.units)
            history, began = events_in(lake), time.time()
            outcome = drive(stack, CONTACTS, watch=False)  # no analytics polling: only what the journey does
            time.sleep(1)  # the last engagement events land
            units = wire.units
            units["Step Functions state transitions (Standard)"] = transitions(stack)
            scanned = [
                max(q.scanned, 10 * 2**20) for q in stack.athena.queries.values() if q.statement_type == "DML" and q.submitted > began
            ]
            units["Athena TB scanned"] = sum(scanned) / 2**40  # type: ignore[assignment]
            events = events_in(lake) - history  # each a Firehose record in the cloud, billed as 5 KB at least
            units["Firehose GB ingested (5 KB records)"] = units["Firehose GB converted to Parquet"] = events * 5 * 1024 / 2**30  # type: ignore[assignment]
            # the functions' lines, and Lambda's own START, END and REPORT lines (about 400 bytes an invocation)
            units["CloudWatch Logs GB ingested"] = (logs.size + 400 * units["Lambda requests"]) / 2**30  # type: ignore[assignment]
            units["X-Ray traces recorded"] = units["Lambda requests"] * 0.05  # type: ignore[assignment]
            units["EventBridge Scheduler invocations"] = len(stack.fired)  # the audience's first refresh
        finally:
            stack.stop()
            os.environ.clear()
            os.environ.update(environment)

    per_thousand = 1000 / CONTACTS
    print(
        f"classic journey, {CONTACTS:,} contacts on the local stack ({len(outcome.executions):,} executions): billable units x AWS prices, us-east-1"
    )
    print(f"{'unit':<46} {'units':>14} {'per 1,000 contacts':>20} {'$ per 1,000':>12}")
    total = 0.0
    for name, price in PRICES.items():
        amount = float(units.get(name, 0))
        scale = 1.0 if name in PER_RUN else per_thousand
        dollars = amount * price * scale
        total += dollars
        print(
            f"{name:<46} {amount:>14,.4f} {amount * scale:>20,.4f} {dollars:>12.5f}"
            + ("   (once a run, whatever its size)" if name in PER_RUN else "")
        )
    print(f"{'Tern, channel fees aside':<46} {'':>14} {'':>20} {total:>12.4f}   (goal: at most {GOAL:.2f})")
    pinpoint = 1000 * PINPOINT_PER_ENDPOINT + events * per_thousand * PINPOINT_PER_EVENT
    print(
        f"{'Amazon Pinpoint, channel fees aside':<46} {'':>14} {'':>20} {pinpoint:>12.4f}   (1,000 targeted endpoints at $0.0012, and the events)"
    )
    print(f"\nTern costs {total / pinpoint:.1%} of Pinpoint for this journey. Requests on the wire: "
          + ", ".join(f"{k} {v:,}" for k, v in wire.requests.most_common(8)) + ".")  # fmt: skip
    print("Lambda GB-seconds and Athena bytes are upper bounds (local wall time against moto; whole tables, no pruning);")
    print(
        f"{events:,} events recorded ({events * per_thousand:,.0f} per 1,000 contacts), {logs.size:,} bytes of the functions' log lines at INFO"
    )
    print("(and Lambda's own, about 400 bytes an invocation);")
    print("the audience's refresh and the marketer's setup calls are included.")


if __name__ == "__main__":
    main()
