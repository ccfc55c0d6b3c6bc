"""What each step kind costs (`make bench`): state transitions and dollars per 1,000 contacts, measured.

For each step kind, a journey of just that step (after a send where the kind needs one) runs for
BENCH_STEPS_CONTACTS contacts on the local stack; its executions' histories give the state transitions, the
wire gives DynamoDB's request units, each function's invocations the Lambda requests and GB-seconds
(tern bench/cost.py counts them the same way). A journey of only `end` is the baseline (a contact entering:
the run, its Distributed Map, the entry records); each kind's figures are its journey's minus the
baseline's (minus a send's, for the kinds that need one), per 1,000 contacts, at us-east-1 prices.

    BENCH_STEPS_CONTACTS=200 python bench/steps.py
"""

from __future__ import annotations

import collections
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

from cost import PRICES, Wire, count_invocations
from tern_local.demo_stack import Client, first_evaluation, free_port
from tern_local.generator import generate
from tern_local.stack import REGION, LocalStack

BASELINE = "end (baseline: entering)"
CONTACTS = int(os.environ.get("BENCH_STEPS_CONTACTS", "200"))
SCALE = 7200  # a day is 12 s
PRICED = ["Step Functions state transitions (Standard)", "Lambda requests", "Lambda GB-seconds (arm64)",
          "DynamoDB write request units (on-demand)", "DynamoDB read request units (on-demand)"]  # fmt: skip


def journeys(content: str, destination: str) -> dict[str, tuple[list[dict[str, Any]], str | None, dict[str, Any]]]:
    """kind -> (its journey's steps, the kind it is measured over, extra journey fields)."""
    send = {"id": "send", "kind": "send_email", "content_id": content}
    tags = {"kind": "tags", "op": "has_any", "values": ["vip"]}
    return {
        "end (baseline: entering)": ([{"id": "s", "kind": "end"}], None, {}),
        "send_email": ([send], "end (baseline: entering)", {}),
        "send_email in a send window (open)": ([send], "end (baseline: entering)", {"send_window": {"start": "00:00", "end": "24:00"}}),
        "update_contact": (
            [{"id": "s", "kind": "update_contact", "field": "tags", "action": "add", "value": "bench"}],
            "end (baseline: entering)",
            {},
        ),
        "webhook": ([{"id": "s", "kind": "webhook", "destination_id": destination}], "end (baseline: entering)", {}),
        "wait_for": ([{"id": "s", "kind": "wait_for", "duration": "PT1H"}], "end (baseline: entering)", {}),
        "wait_until from a field": (
            [{"id": "s", "kind": "wait_until", "from": "contact.created_at", "offset": "P1D", "no_value": "e"}, {"id": "e", "kind": "end"}],
            "end (baseline: entering)",
            {},
        ),  # fmt: skip
        "random_split": (
            [{"id": "s", "kind": "random_split", "branches": [{"percent": 50}, {"percent": 50}]}],
            "end (baseline: entering)",
            {},
        ),
        "holdout": ([{"id": "s", "kind": "holdout", "percent": 10}], "end (baseline: entering)", {}),
        "split": ([{"id": "s", "kind": "split", "condition": tags}], "end (baseline: entering)", {}),
        "split after PT1H": ([{"id": "s", "kind": "split", "condition": tags, "after": "PT1H"}], "end (baseline: entering)", {}),
        "multi_split (3 branches)": (
            [
                {
                    "id": "s",
                    "kind": "multi_split",
                    "branches": [
                        {"condition": tags},
                        {"condition": {"kind": "gender", "value": "female"}},
                        {"condition": {"kind": "age", "min": 40}},
                    ],
                }
            ],
            "end (baseline: entering)",
            {},
        ),  # fmt: skip
        "branch_on_event (timeout)": (
            [{**send, "next": "b"}, {"id": "b", "kind": "branch_on_event", "message_step": "send", "event": "clicked", "timeout": "PT2H"}],
            "send_email",
            {},
        ),  # fmt: skip
    }


def transitions(stack: LocalStack, arns: set[str]) -> int:
    """StateEntered events of the journey's executions and of the runs and Map children that started them."""
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    total = 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["stateMachineArn"] not in arns:
            continue
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine["stateMachineArn"]):
            for execution in page["executions"]:
                history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
                total += sum(1 for e in history["events"] if e["type"].endswith("StateEntered"))
    return total


def main() -> None:
    environment = dict(os.environ)
    wire = Wire()
    wire.install()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    measured: dict[str, collections.Counter[str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        lake = Path(folder)
        generate(lake, contacts=CONTACTS, events_per_contact=1, days=5, org="bench", seed=5)
        stack = LocalStack(lake, port=free_port(), aws_port=free_port(), time_scale=SCALE, log_level="ERROR")
        stack.start()
        try:
            api = Client(f"http://127.0.0.1:{stack.port}", "bench")
            count_invocations(stack, wire.units)
            audience = api("POST", "/segments", {"name": "everyone", "where": {"all": []}, "refresh": {"every": 365, "unit": "days"}})
            api("POST", f"/segments/{audience['id']}/go-live")
            first_evaluation(api, audience)
            content = api("POST", "/content", {"name": "hi", "channel": "email", "subject": "Hi", "body": "<p>Hi</p>", "status": "ready"})[
                "id"
            ]
            destination = api(
                "POST",
                "/destinations",
                {"name": "hook", "url": f"http://127.0.0.1:{receiver.server_address[1]}/", "secret": "bench-webhook-secret-0001"},
            )["id"]
            sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
            runs = {m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if "journey-runs" in m["name"]}
            for kind, (steps, _, extra) in journeys(content, destination).items():
                wire.units.clear()
                before = transitions(stack, runs)
                journey = api(
                    "POST", "/journeys", {"name": kind, "audience": audience["id"], "start": steps[0]["id"], "steps": steps, **extra}
                )
                published = api("POST", f"/journeys/{journey['id']}/publish")
                api("POST", f"/journeys/{journey['id']}/start")
                arn = published["state_machine_arn"]
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
                    if len(executions) >= CONTACTS and all(e["status"] != "RUNNING" for e in executions):
                        break
                    time.sleep(0.5)
                time.sleep(0.5)
                units = collections.Counter(wire.units)
                units["run transitions"] = transitions(stack, runs) - before  # the entry: the run and its Map
                units["Step Functions state transitions (Standard)"] = transitions(stack, {arn})  # the contacts' own executions
                measured[kind] = units
        finally:
            stack.stop()
            receiver.shutdown()
            os.environ.clear()
            os.environ.update(environment)

    per = 1000 / CONTACTS
    print(
        f"step kinds, {CONTACTS:,} contacts each on the local stack: the step's own cost per 1,000 contacts (its journey minus the baseline's)"
    )
    print(f"{'step kind':<36} {'transitions':>12} {'Lambda calls':>13} {'DynamoDB RRU':>13} {'DynamoDB WRU':>13} {'$ per 1,000':>12}")
    for kind, (_, over, _) in journeys("c", "d").items():
        units = measured[kind]
        base = measured[over] if over else collections.Counter()
        own = PRICED[0]
        diff = (
            {
                name: (float(units.get(name, 0)) - float(base.get(name, 0) if name != own or over != BASELINE else 0)) * per
                for name in PRICED
            }
            if over
            else {n: (float(units.get(n, 0)) + (float(units.get("run transitions", 0)) if n == own else 0)) * per for n in PRICED}
        )
        dollars = sum(diff[name] * PRICES[name] for name in PRICED)
        print(
            f"{kind:<36} {diff[PRICED[0]]:>12,.0f} {diff[PRICED[1]]:>13,.0f} {diff[PRICED[4]]:>13,.0f} {diff[PRICED[3]]:>13,.0f} {dollars:>12.4f}"
        )
    print("Transitions are the contacts' own executions' (over a send for the branch); Lambda and DynamoDB figures are the journey's")
    print("minus the baseline's. The baseline row is the whole cost of entering (the run, its Map, the entry records, an end state);")
    print("Lambda GB-seconds are included in the dollars (local wall time: an upper bound). Channel fees (SES, SMS) aside.")


if __name__ == "__main__":
    main()
