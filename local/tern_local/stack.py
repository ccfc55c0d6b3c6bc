"""The local stack: template.yaml deployed into moto on 127.0.0.1, the functions run in process.

- moto runs in server mode, so boto3 and the AWS CLI reach it with --endpoint-url;
- every resource moto can hold is created from template.yaml (table, buckets, Glue catalog, Athena
  workgroup, schedule group, roles), with the names and ARNs the template's intrinsics resolve to;
- the functions' environment is the template's (Globals + function), resolved the same way;
- the api function serves HTTP on 127.0.0.1 (X-Tern-Org becomes the Cognito claim it reads);
- schedules created in moto's EventBridge Scheduler are fired by a local loop that starts their target: an
  execution of the refresh or the journey run state machine (or a function, in process);
- Athena's API on the same port is answered by the local Athena (tern_local.athena): DuckDB over the lake
  folder, results rendered as Athena renders them; the functions use the Athena engine, as in the cloud;
- the lake is a local folder; the clock may run compressed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
import urllib.request
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from tern.services import use_runtime
from tern_local import iam
from tern_local.athena import LocalAthena, route_athena_to
from tern_local.console import ConsoleSite
from tern_local.deployment import ACCOUNT, REGION, STAGE, Resolver, deploy, function_environment
from tern_local.fidelity import as_aws_does
from tern_local.gateway import handler_for
from tern_local.iam import Roles
from tern_local.lake_bucket import present_folder
from tern_local.map_runs import enforce_tolerated_failures
from tern_local.outbox import route_outbox_to
from tern_local.protocols import bridge_all
from tern_local.runtime import LocalRuntime
from tern_local.ses import emulate as emulate_ses
from tern_local.ses import route_dns_to
from tern_local.sms import LOCAL_NUMBERS, route_sms_outbox_to, with_sms
from tern_local.sms import STATE as sms_state
from tern_local.template import TEMPLATE, template

ROOT = Path(__file__).resolve().parents[2]
LOCAL_PARAMETERS = {
    "Stage": STAGE,
    "SenderAddress": "journeys@tern.local.example",
    "SmsOriginationIdentity": LOCAL_NUMBERS[0][0],
    "PostalAddress": "Tern (local stack), 1 Example Street, 00-001 Example City",
}  # what `sam deploy` would be given


# ------------------------------------------------------------------ Lambda and EventBridge, in process


def _route_lambda_to(stack: LocalStack) -> None:
    """Make moto's Lambda run the stack's functions in process, and EventBridge deliver to them.

    moto would otherwise need Docker to invoke a function, and its EventBridge does not deliver to Lambda.
    """
    from moto.awslambda.models import LambdaBackend
    from moto.events.models import Rule

    original_invoke = getattr(LambdaBackend.invoke, "__wrapped_by_tern__", LambdaBackend.invoke)

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> Any:
        try:
            stack.resolver.function_by_name(function_name)
        except KeyError:
            return original_invoke(self, function_name, qualifier, body, headers, response_headers)
        event = json.loads(body) if body else {}
        asynchronous = (headers.get("X-Amz-Invocation-Type") or headers.get("x-amz-invocation-type")) == "Event"
        try:
            result = stack.invoke_arn(function_name, event, asynchronous=asynchronous)
        except Exception as e:  # noqa: BLE001 - reported to the caller as Lambda reports a function error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": str(e), "errorType": type(e).__name__, "stackTrace": []})
        return json.dumps(result, default=str) if not asynchronous else ""

    invoke.__wrapped_by_tern__ = original_invoke  # type: ignore[attr-defined]
    LambdaBackend.invoke = invoke  # type: ignore[method-assign]

    original_send = getattr(Rule.send_to_targets, "__wrapped_by_tern__", Rule.send_to_targets)

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        functions = [t for t in self.targets if ":lambda:" in t["Arn"]]
        others = [t for t in self.targets if ":lambda:" not in t["Arn"]]
        if others:  # moto's own delivery, to the targets it supports
            everything, self.targets = self.targets, others
            try:
                original_send(self, original_event, transform_input)
            finally:
                self.targets = everything
        if functions and self.event_pattern.matches_event(original_event):
            for target in functions:
                stack.invoke_arn(target["Arn"], dict(original_event), asynchronous=True)

    send_to_targets.__wrapped_by_tern__ = original_send  # type: ignore[attr-defined]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------ functions

ASYNC_RETRY_SECONDS = 0.2  # Lambda waits about 1 minute, then 2, before running a failed asynchronous event again


class Killed(BaseException):
    """An instance stopped mid-invocation (a timeout, out of memory): the code in it cannot catch it, and Lambda counts
    the invocation as failed (an asynchronous one is then run again)."""


@dataclass
class Context:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_seconds: int = 60
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_seconds - time.monotonic()) * 1000))


def load_function(logical_id: str) -> ModuleType:
    """Import a function's app.py as Lambda would: its cold start runs here, once."""
    code_uri = template()["Resources"][logical_id]["Properties"]["CodeUri"]
    spec = importlib.util.spec_from_file_location(f"function_{logical_id}", ROOT / code_uri / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ScaledClock:
    """UTC now, running `scale` times faster than the wall clock from the moment the stack starts."""

    def __init__(self, scale: float = 1.0, start: dt.datetime | None = None):
        self.scale = scale
        self.start = start or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self._real = time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=(time.monotonic() - self._real) * self.scale)

    def to_wall(self, at: dt.datetime) -> dt.datetime:
        """The wall-clock moment (naive UTC) when this clock reaches `at` (tern.clock)."""
        wall_now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return wall_now + (at - self()) / self.scale


# ----------------------------------------------------------------------------------------- the stack


def _moto_server(host: str, port: int) -> Any:
    """moto's server with End User Messaging SMS in front of it (tern_local.sms): moto has no such service."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class LocalAws(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = with_sms(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return LocalAws(ip_address=host, port=port, verbose=False)


class LocalStack:
    def __init__(
        self,
        data: Path,
        port: int = 8000,
        aws_port: int = 5000,
        time_scale: float = 1.0,
        host: str = "127.0.0.1",
        log_level: str | None = None,
        start: dt.datetime | None = None,
    ):
        from tern.engines.duckdb import DuckDBEngine

        self.data = data
        self.host = host
        self.port = port
        self.aws_port = aws_port
        self.clock = ScaledClock(time_scale, start)  # `start` pins the library clock's now (the demo's lake time)
        self.engine = DuckDBEngine(data)
        declared = template().get("Parameters", {})
        missing = [name for name, p in declared.items() if "Default" not in p and name not in LOCAL_PARAMETERS]
        if missing:
            raise ValueError(f"template.yaml parameters the local stack has no value for: {', '.join(missing)}")
        defaults = {name: str(p["Default"]) for name, p in declared.items() if "Default" in p}
        self.resolver = Resolver(template()["Resources"], {**defaults, **LOCAL_PARAMETERS})
        self.console = ConsoleSite(data, resolve=self.resolver.resolve)  # the distribution, with its security headers
        self.log_level = log_level  # overrides the template's POWERTOOLS_LOG_LEVEL (the demo keeps quiet)
        self._stop = threading.Event()
        self.moto: Any = None  # set as start() gets to them: stop() stops what a start cut short had started
        self.http: ThreadingHTTPServer | None = None
        self._serving: threading.Thread | None = None
        self.fired: dict[str, dt.datetime] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.functions: dict[str, ModuleType] = {}
        self.copies = Path(tempfile.mkdtemp(prefix="tern-preview-"))

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log would drown the console
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)  # a failed state dumps its whole parse tree
        # There is no CloudWatch here: an invocation that published no metric is not worth a warning.
        warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
        from moto.core.config import default_user_config

        default_user_config["stepfunctions"] = {"execute_state_machine": True}  # real ASL, run by moto's interpreter
        enforce_tolerated_failures()  # ...whose Distributed Map would succeed whatever its items did
        as_aws_does()  # where moto differs from AWS in what Tern relies on: atomic conditional writes, waits on time
        bridge_all()  # every protocol the SDKs speak to each service, old and new (Athena: JSON 1.1 and rest-json)
        emulate_ses()  # SES v2's domain verification, MAIL FROM, event destinations and tenants, where moto stops short
        self.moto = _moto_server(self.host, self.aws_port)
        sms_state.reset()  # the account's numbers on its Default opt-out list, no opted-out number yet
        self.moto.start()
        # moto keeps its state per process: a stack started after another in this process starts empty
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"), timeout=30).close()
        # boto3 in this process (and the functions it hosts) talks to moto
        os.environ.update({
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
        })  # fmt: skip
        os.environ["MOTO_PORT"] = str(self.aws_port)  # where moto's Step Functions interpreter calls Lambda
        deploy(self.resolver, self.endpoint)
        present_folder(self.resolver.names["LakeBucket"], self.data)  # the preview function reads the lake through S3, as in the cloud
        # The local runtime plugs in here, before any function is imported: DuckDB answers for Athena, the lake
        # is the data folder, and the clock may be compressed.
        workgroup = self.resolver.resolve(self.resolver.resources["AthenaWorkGroup"]["Properties"])
        self.roles = Roles.from_template(
            template(), self.resolver, REGION, ACCOUNT, self.resolver.names["AthenaWorkGroup"],
            athena_output=workgroup["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"],
            lake_bucket=self.resolver.names["LakeBucket"], glue_database=self.resolver.names["LakeDatabase"],
        )  # fmt: skip
        use_runtime(LocalRuntime(self.data, self.clock, REGION, roles=self.roles))  # each function held to its own role
        # ...and their queries go to Athena, as in the cloud: moto's Athena API answered by the local Athena
        self.athena = LocalAthena(
            self.engine, boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION), lake_bucket=self.resolver.names["LakeBucket"]
        )
        route_athena_to(self.athena)
        route_outbox_to(self.data / "outbox")  # every e-mail and text the local SES and SNS accepted, as sent
        route_dns_to(self.data / "dns.txt")  # the local DNS, where a sending domain's records are published
        route_sms_outbox_to(self.data / "outbox")  # every text End User Messaging SMS sent
        for logical in self.resolver.functions():
            self.functions[logical] = self._function(logical)
            self.locks[logical] = threading.Lock()
        self.api = self.functions["ApiFunction"]
        _route_lambda_to(self)
        self.http = ThreadingHTTPServer((self.host, self.port), handler_for(self))
        self.port = self.http.server_address[1]
        self._serving = threading.Thread(target=self.http.serve_forever, daemon=True, name="tern-api")
        self._serving.start()
        threading.Thread(target=self._scheduler_loop, daemon=True, name="tern-scheduler").start()

    def is_public(self, path: str) -> bool:
        """Does the template route this path to the API function with no authorizer (`Auth: {Authorizer: NONE}`)?"""
        events = self.resolver.resources["ApiFunction"]["Properties"].get("Events", {}).values()
        prefixes = [
            e["Properties"]["Path"].split("{", 1)[0] for e in events if (e["Properties"].get("Auth") or {}).get("Authorizer") == "NONE"
        ]
        return any(path.startswith(prefix) for prefix in prefixes)

    def _function(self, logical_id: str) -> ModuleType:
        os.environ.update(function_environment(self.resolver, logical_id))
        # Receivers on a laptop listen on 127.0.0.1; a deployed stack never delivers to loopback (no such setting)
        os.environ["TERN_WEBHOOKS_ALLOW_LOOPBACK"] = "true"
        # The preview function's copies of the orgs' lakes: its own /tmp in Lambda, a folder of this stack's here
        os.environ["TERN_COPY_DIR"] = str(self.copies)
        # Recipients' links (unsubscribe, preferences) reach this stack's HTTP server, not a CloudFront distribution
        os.environ["TERN_PUBLIC_URL"] = f"http://{self.host}:{self.port}"
        if self.log_level:
            os.environ["POWERTOOLS_LOG_LEVEL"] = self.log_level
        return load_function(logical_id)

    def invoke(self, module: ModuleType, logical_id: str, event: dict[str, Any]) -> Any:
        name = self.resolver.names[logical_id]
        with self.locks[logical_id]:  # one invocation at a time per function, like one warm container
            timeout = int(self.resolver.resources[logical_id]["Properties"].get("Timeout", 60))
            outer, iam.current.function = getattr(iam.current, "function", None), logical_id
            try:
                return module.lambda_handler(event, Context(name, self.resolver.arn(logical_id), timeout_seconds=timeout))
            finally:
                iam.current.function = outer

    def invoke_arn(self, function: str, event: dict[str, Any], asynchronous: bool = False) -> Any:
        """Invoke a function by name or ARN, as Lambda would: in a thread of its own when asynchronous."""
        logical = self.resolver.function_by_name(function)
        if asynchronous:
            config = self.resolver.resources[logical]["Properties"].get("EventInvokeConfig") or {}
            attempts = 1 + int(config.get("MaximumRetryAttempts", 2))  # Lambda's default: two retries

            def run() -> None:
                for attempt in range(1, attempts + 1):
                    try:
                        self.invoke(self.functions[logical], logical, event)
                        return
                    except (Exception, Killed):  # noqa: BLE001 - an async invocation's failure goes to the log, as in Lambda
                        traceback.print_exc()
                    if attempt < attempts:  # ...and Lambda runs the event again (after a minute, then two: here at once)
                        time.sleep(ASYNC_RETRY_SECONDS)

            threading.Thread(target=run, daemon=True, name=f"tern-{logical}").start()
            return None
        return self.invoke(self.functions[logical], logical, event)

    # ----- EventBridge Scheduler, played locally

    def _scheduler_loop(self) -> None:
        scheduler = boto3.client("scheduler", endpoint_url=self.endpoint, region_name=REGION)
        group = self.resolver.names["ScheduleGroup"]
        while not self._stop.wait(0.2):
            try:
                self.fire_due(scheduler, group)
            except Exception as e:  # noqa: BLE001 - the loop must outlive one bad schedule
                print(f"tern serve: scheduler: {e}", flush=True)

    def fire_due(self, scheduler: Any, group: str) -> None:
        now = self.clock()
        for summary in scheduler.list_schedules(GroupName=group).get("Schedules", []):
            schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=group)
            expression = schedule["ScheduleExpression"]
            last = self.fired.get(schedule["Name"])
            if expression.startswith("rate(") and not _within(now, schedule.get("StartDate"), schedule.get("EndDate")):
                continue  # Scheduler invokes a recurring schedule only between its StartDate and EndDate
            if expression.startswith("rate("):
                count, unit = expression[5:-1].split()
                interval = dt.timedelta(**{unit.rstrip("s") + "s": int(count)})
                due = last is None or now - last >= interval
            else:
                at = dt.datetime.fromisoformat(expression[3:-1])
                due = last is None and now >= at
            if not due:
                continue
            self.fired[schedule["Name"]] = now
            target = schedule["Target"]
            if ":states:" in target["Arn"]:  # Scheduler's StartExecution target
                boto3.client("stepfunctions", endpoint_url=self.endpoint, region_name=REGION).start_execution(
                    stateMachineArn=target["Arn"], input=target["Input"], name=str(uuid.uuid4())
                )  # named as Step Functions names an unnamed one (moto would name it "None")
            else:
                self.invoke_arn(target["Arn"], json.loads(target["Input"]))
            if not expression.startswith("rate(") and schedule.get("ActionAfterCompletion") == "DELETE":
                scheduler.delete_schedule(Name=schedule["Name"], GroupName=group)

    def stop(self, timeout: float = 20.0) -> list[str]:
        """Stop what start() started, as far as it got; returns what did not stop within `timeout` seconds.

        Each server stops in a thread of its own, so that one that never stops (moto's stop waits for its loop, which
        a start cut short may never reach) cannot hold the caller. Requests in flight are not waited for: both
        servers answer in daemon threads.
        """
        self._stop.set()
        steps = [("the admin API", self._stop_api)] if self.http is not None else []
        steps += [("moto", self.moto.stop)] if self.moto is not None else []
        deadline = time.monotonic() + timeout
        hung = []
        for name, step in steps:
            thread = threading.Thread(target=step, daemon=True, name=f"tern-stop-{name}")
            thread.start()
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                hung.append(name)
        use_runtime(None)
        route_athena_to(None)
        route_outbox_to(None)
        route_dns_to(None)
        route_sms_outbox_to(None)
        shutil.rmtree(self.copies, ignore_errors=True)
        return hung

    def _stop_api(self) -> None:
        assert self.http is not None
        if self._serving is not None and self._serving.is_alive():
            self.http.shutdown()  # returns once serve_forever has: never, had its thread not started
        self.http.server_close()  # the port is free from here, not only when the process ends


def _within(now: dt.datetime, start: dt.datetime | None, end: dt.datetime | None) -> bool:
    at = now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now
    return (start is None or at >= start) and (end is None or at < end)


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM stop `tern serve`, whenever they come: during its start, as it waits, or while
    requests are in flight.

    The handlers are installed whatever was there before: a command a script starts in the background (`make test &`)
    inherits SIGINT ignored, and Python then installs no KeyboardInterrupt of its own, so the stack outlived every
    Ctrl-C. The first signal raises KeyboardInterrupt in the main thread and is noted (code that swallows the
    exception does not keep the stack up); one while it stops exits at once, for a stop that hangs.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self.stopping = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for number in (signal.SIGINT, signal.SIGTERM):
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)

    def _handle(self, number: int, frame: object) -> None:
        name = signal.Signals(number).name
        if self.received or self.stopping:
            with contextlib.suppress(OSError):
                os.write(2, f"tern serve: {name} while stopping: exiting without waiting\n".encode())
            os._exit(128 + number)
        self.received = name
        raise KeyboardInterrupt


def serve(
    data: Path,
    port: int,
    aws_port: int,
    time_scale: float,
    ready: Callable[[LocalStack], None] | None = None,
    stop_timeout: float = 20.0,
) -> list[str]:
    """Run the stack until Ctrl-C or SIGTERM; returns what did not stop within `stop_timeout` seconds."""
    with StopSignals() as signals:
        stack: LocalStack | None = None
        hung: list[str] = []
        try:
            stack = LocalStack(data, port, aws_port, time_scale)
            stack.start()
            print(
                f"Tern console:    http://{stack.host}:{stack.port}/   (the admin API beside it; name your org with the X-Tern-Org header)",
                flush=True,
            )
            print(f"Local AWS (moto): {stack.endpoint}   (aws --endpoint-url {stack.endpoint} ...)", flush=True)
            print(f"Lake: {data}   clock x{time_scale:g}   template: {TEMPLATE.name}   Ctrl-C stops", flush=True)
            if ready:
                ready(stack)
            while not signals.received:  # the handler interrupts the sleep; this is for a KeyboardInterrupt swallowed
                time.sleep(1)
        except KeyboardInterrupt:
            signals.received = signals.received or "KeyboardInterrupt"
        finally:
            signals.stopping = True
            if signals.received:
                with contextlib.suppress(OSError):  # a terminal gone is no reason to leave the stack up
                    print("\nstopping", flush=True)
            if stack is not None:
                hung = stack.stop(stop_timeout)
    return hung
