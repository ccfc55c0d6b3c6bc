"""Journey benchmark (`make bench`): contacts per second through the classic journey on the local stack,
and the Step Functions state transitions each contact costs. Figures, not pass/fail.

The local stack runs in this process with a clock 3,600 times faster than the wall (a day is 24 s):
the real ASL in moto's interpreter, journey_step and ingest_events in process, moto's SES and SNS.
Every fifth recipient clicks the launch link (an SES click event on EventBridge) as soon as the e-mail
is out. Throughput here is the local stack's (one journey_step invocation at a time, moto in process),
not AWS's; transitions per contact are what AWS would bill.

    BENCH_JOURNEY_CONTACTS=500 python bench/journeys.py
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tern_local.demo_stack import Client, free_port, ses_click
from tern_local.generator import generate
from tern_local.stack import ACCOUNT, REGION, LocalStack

CONTACTS = int(os.environ.get("BENCH_JOURNEY_CONTACTS", "300"))
SCALE = 3600  # a day is 24 s: the click window outlasts the sends
LINK = "https://shop.example.com/new"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        lake = Path(folder)
        generate(lake, contacts=CONTACTS, events_per_contact=2, days=10, org="bench", seed=3)
        environment = dict(os.environ)
        stack = LocalStack(lake, port=free_port(), aws_port=free_port(), time_scale=SCALE, log_level="ERROR")
        stack.start()
        try:
            run(stack)
        finally:
            stack.stop()
            os.environ.clear()
            os.environ.update(environment)


@dataclass
class Outcome:
    journey_id: str
    arn: str
    executions: list[dict[str, Any]]
    all_sent: float | None  # seconds from start to everyone e-mailed (or blocked) and waiting at the branch
    elapsed: float  # seconds from start to every execution finished


def drive(stack: LocalStack, contacts: int = CONTACTS, watch: bool = True) -> Outcome:
    """The classic journey for every contact of the lake, every fifth recipient clicking; until all finished.
    `watch` polls the journey's analytics (through the admin API) to time the sends."""
    from moto.ses.models import ses_backends

    api = Client(f"http://127.0.0.1:{stack.port}", "bench")
    everyone = api("POST", "/segments", {"name": "everyone", "where": {"all": []}, "refresh": {"every": 365, "unit": "days"}})
    api("POST", f"/segments/{everyone['id']}/go-live")
    while not api("GET", f"/segments/{everyone['id']}")["latest"]:
        time.sleep(0.1)
    email = api(
        "POST", "/content", {"name": "e", "channel": "email", "subject": "Hi {{first_name}}", "body": "<p>new</p>", "status": "ready"}
    )
    sms = api("POST", "/content", {"name": "s", "channel": "sms", "text": "out!", "status": "ready"})
    launch = (stack.clock() + dt.timedelta(hours=26)).replace(tzinfo=dt.UTC)
    journey = api("POST", "/journeys", {"name": "classic", "audience": everyone["id"], "start": "announce", "steps": [
        {"id": "announce", "kind": "send_email", "content_id": email["id"], "next": "clicked"},
        {"id": "clicked", "kind": "branch_on_event", "message_step": "announce", "event": "clicked", "link": LINK, "timeout": "P1D", "yes": "launch", "no": "end"},
        {"id": "launch", "kind": "wait_until", "at": launch.isoformat(), "next": "text"},
        {"id": "text", "kind": "send_sms", "content_id": sms["id"], "next": "end"},
        {"id": "end", "kind": "end"},
    ]})  # fmt: skip
    arn = api("POST", f"/journeys/{journey['id']}/publish")["state_machine_arn"]
    ses = ses_backends[ACCOUNT][REGION]
    events = boto3.client("events", endpoint_url=stack.endpoint, region_name=REGION)
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    started = time.perf_counter()
    api("POST", f"/journeys/{journey['id']}/start")
    seen = 0
    all_sent = None
    while True:
        for message in list(ses.sent_messages)[seen:]:
            seen += 1
            if seen % 5 == 0:
                ses_click(events, message.id, LINK)
        if all_sent is None and watch:
            announce, branch = api("GET", f"/journeys/{journey['id']}/analytics")["steps"][:2]
        if all_sent is None and watch and branch["processed"] + announce["blocked"] >= contacts:
            all_sent = time.perf_counter() - started  # everyone has had the e-mail (or was blocked) and waits at the branch
        executions = [e for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn) for e in page["executions"]]
        if len(executions) == contacts and all(e["status"] != "RUNNING" for e in executions):
            break
        time.sleep(0.2)
    return Outcome(journey["id"], arn, executions, all_sent, time.perf_counter() - started)


def run(stack: LocalStack) -> None:
    api = Client(f"http://127.0.0.1:{stack.port}", "bench")
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    outcome = drive(stack)
    journey, executions, all_sent, elapsed = {"id": outcome.journey_id}, outcome.executions, outcome.all_sent, outcome.elapsed
    transitions: collections.Counter[int] = collections.Counter()
    for execution in executions:
        history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        transitions[sum(1 for e in history if e["type"].endswith("StateEntered"))] += 1
    figures = api("GET", f"/journeys/{journey['id']}/analytics")["steps"]
    print(
        f"classic journey on the local stack: {CONTACTS:,} contacts (clock x{SCALE:,}: the one-day click window is {86400 / SCALE:.0f} s, the launch 26 h away)"
    )
    if all_sent:
        print(
            f"  start to everyone e-mailed (or blocked) and waiting at the branch: {all_sent:.1f} s, {CONTACTS / all_sent:.1f} contacts/s"
        )
    print(f"  start to every execution finished: {elapsed:.1f} s (includes the day-long click window and the launch wait)")
    for step in figures:
        print(
            f"  {step['step_id']:<10} processed {step['processed']:>6,}  sent {step['sent']:>6,}  clicked {step['clicked']:>5,}  blocked {step['blocked']:>5,}  exited {step['exited']:>6,}"
        )
    values = list(transitions.elements())
    print(
        f"  state transitions per contact: mean {statistics.mean(values):.2f}, max {max(values)} (by path: "
        + ", ".join(f"{n} states x {count:,}" for n, count in sorted(transitions.items()))
        + "); target: at most 8"
    )


if __name__ == "__main__":
    main()
