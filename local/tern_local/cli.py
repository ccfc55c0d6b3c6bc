"""The `tern` command: segments and demo data on a laptop, over the embedded DuckDB engine.

Output is machine-readable (JSON, or one id a line); user errors are one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

from tern.clock import utc_now
from tern.errors import DataError, DefinitionError, QueryError, TernError, UnresolvedReference
from tern.segments.compiler import DIALECTS, compile_segment
from tern.segments.definition import SegmentDefinition, definition_schema, parse_definition_json
from tern.segments.evaluate import count, members
from tern.segments.values import parse_time

USER_ERROR = 2
RUN_ERROR = 1


class UsageError(TernError):
    pass


def _now(text: str | None) -> dt.datetime:
    if text is None:
        return utc_now()
    try:
        return parse_time(text)
    except ValueError:
        raise UsageError(f"--now: not an ISO date-time: {text!r} (e.g. 2026-11-22T00:00:00Z)") from None


def _definition(path: str) -> SegmentDefinition:
    try:
        text = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    return parse_definition_json(text)


def _engine(data: str, org: str) -> Any:
    from tern.engines.duckdb import DuckDBEngine  # DuckDB only where a command needs it

    engine = DuckDBEngine(data)
    if not engine.has_org(org):
        raise DataError(f"no contacts for org {org!r} under {Path(data) / 'contacts'}")
    return engine


def cmd_segment_count(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    definition = _definition(args.definition)
    counts = count(definition, _engine(args.data, args.org), args.org, _now(args.now))
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    print(json.dumps({
        "total": counts.total, "criteria": [asdict(c) for c in counts.criteria], "nodes": [asdict(n) for n in counts.nodes],
        "elapsed_ms": elapsed_ms,
    }))  # fmt: skip


def cmd_segment_members(args: argparse.Namespace) -> None:
    definition = _definition(args.definition)
    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit: must be 0 or more")
    ids = members(definition, _engine(args.data, args.org), args.org, _now(args.now), args.limit)
    sys.stdout.write("".join(f"{i}\n" for i in ids))


def cmd_segment_sql(args: argparse.Namespace) -> None:
    definition = _definition(args.definition)
    compiled = compile_segment(definition, args.org, _now(args.now), dialect=args.dialect, database=args.database)
    print(compiled.count_sql() if args.count else compiled.members_sql())


def cmd_segment_schema(args: argparse.Namespace) -> None:
    print(json.dumps(definition_schema(), indent=2))


def cmd_journey_schema(args: argparse.Namespace) -> None:
    from tern.journeys.model import JourneyDefinition

    print(json.dumps(JourneyDefinition.model_json_schema(by_alias=True), indent=2))


def _check_org(org: str) -> None:
    """An org id a lake folder can be named by (`org_id=ORG`): not empty, no `/` or `=`, not `.` or `..`."""
    if not org or "/" in org or "=" in org or org in (".", ".."):
        raise UsageError(f"--org: not a usable org id: {org!r}")


def cmd_data_generate(args: argparse.Namespace) -> None:
    from tern_local.generator import generate, print_progress

    if args.contacts < 1:
        raise UsageError("--contacts: must be 1 or more")
    if args.events_per_contact < 0 or args.days < 0:
        raise UsageError("--events-per-contact and --days must be 0 or more")
    _check_org(args.org)
    started = time.perf_counter()
    written = generate(
        Path(args.out), args.contacts, args.events_per_contact, args.days, args.org, args.seed,
        _now(args.now) if args.now else None, progress=None if args.quiet else print_progress,
    )  # fmt: skip
    if not args.quiet:
        sys.stderr.write("\n")
    print(json.dumps({**written, "org": args.org, "out": args.out, "elapsed_s": round(time.perf_counter() - started, 1)}))


def cmd_serve(args: argparse.Namespace) -> None:
    if args.time_scale <= 0:
        raise UsageError("--time-scale: must be more than 0")
    # Until serve() takes them over: a Ctrl-C or SIGTERM while the stack's modules load (seconds) stops tern here, even
    # when SIGINT came ignored from the shell (a script's background job; stack.StopSignals)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.default_int_handler)
    hung: list[str] = []
    try:
        from tern_local.stack import serve

        hung = serve(Path(args.data), args.port, args.aws_port, args.time_scale)
    except KeyboardInterrupt:  # before serve() had started anything
        print("\nstopping", flush=True)
    if hung:
        sys.stderr.write(f"tern: {' and '.join(hung)} did not stop in time; exiting without waiting\n")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a terminal gone
            stream.flush()
    # Stopped: the interpreter's teardown has nothing left to do but cost. It garbage-collects moto's and the SDK's heap
    # (seconds on a busy machine), runs atexit hooks that wait on locks that invocations still in flight hold (logging's,
    # held by a thread writing to a full stdout pipe: forever), and tears down modules under daemon threads in DuckDB
    os._exit(RUN_ERROR if hung else 0)


def cmd_import_pinpoint(args: argparse.Namespace) -> None:
    from tern_local.importing import ImportFailed, print_report, run_import

    try:
        report = run_import(args.files, args.endpoints, args.api, args.org, args.token or os.environ.get("TERN_TOKEN"), args.dry_run)
    except ImportFailed as e:
        raise UsageError(str(e)) from None
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_report(report, sys.stdout)


def cmd_import_pinpoint_data(args: argparse.Namespace) -> None:
    from tern_local.pinpoint_export import UploadFailed, check_writable, convert, lake_prefix, upload

    _check_org(args.org)
    work = Path(args.work) if args.work else None
    if work is not None and not work.is_dir():
        raise UsageError(f"--work {args.work}: no such folder")
    files: list[Path] = []
    for name in args.files:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{name}: no such file or folder")
    try:
        if not str(args.out).startswith("s3://"):
            endpoints, streams, neither = _pinpoint_files(files)
            report = convert(endpoints, streams, Path(args.out), args.org, neither, work).public()
        else:
            import boto3

            bucket, prefix = lake_prefix(args.out)
            s3 = boto3.client("s3")
            check_writable(s3, bucket, prefix)
            endpoints, streams, neither = _pinpoint_files(files)
            with tempfile.TemporaryDirectory(prefix="tern-lake-", dir=work) as lake:
                report = convert(endpoints, streams, Path(lake), args.org, neither, work).public()
                report["uploaded"] = {"files": upload(Path(lake), s3, bucket, prefix), "to": f"s3://{bucket}/{prefix}"}
    except UploadFailed as e:
        raise UsageError(str(e)) from None
    json.dump(report, sys.stdout, indent=None if args.json else 2)
    sys.stdout.write("\n")


def _pinpoint_files(files: list[Path]) -> tuple[list[Path], list[Path], list[Any]]:
    """The endpoint files, the event-stream files and the others (each with why) among `files` (UsageError when
    there is no endpoint or stream file)."""
    from tern_local.pinpoint_export import classify

    endpoints, streams, neither = classify(files)
    if not endpoints and not streams:
        raise UsageError("no Pinpoint endpoint or event-stream record in the files given")
    return endpoints, streams, neither


def cmd_console_publish(args: argparse.Namespace) -> None:
    from tern_local.publish import PublishFailed, publish

    try:
        print(json.dumps(publish(args.stack)))
    except PublishFailed as e:
        raise UsageError(str(e)) from None


def cmd_console_openapi(args: argparse.Namespace) -> None:
    from tern.api.app import openapi_document

    text = json.dumps(openapi_document(), indent=1, sort_keys=True) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="tern", description="Tern: audience segments over a customer data lake.")
    groups = top.add_subparsers(dest="group", required=True, metavar="{segment,journey,import,data,console,serve}")

    segment = groups.add_parser("segment", help="count, list or compile a segment definition")
    commands = segment.add_subparsers(dest="command", required=True, metavar="{count,members,sql,schema}")

    def evaluation(name: str, help: str) -> argparse.ArgumentParser:
        p = commands.add_parser(name, help=help)
        p.add_argument("definition", metavar="DEF.json", help="the definition file, or - for stdin")
        p.add_argument("--data", required=True, metavar="DIR", help="the lake: DIR/contacts, DIR/events")
        p.add_argument("--org", required=True, help="the tenant whose contacts to evaluate")
        p.add_argument("--now", metavar="ISO", help="evaluation time (UTC); default: the clock")
        return p

    evaluation("count", "total and per-criterion counts, as JSON").set_defaults(run=cmd_segment_count)
    p = evaluation("members", "member contact ids, one a line")
    p.add_argument("--limit", type=int, metavar="N", help="at most N members")
    p.set_defaults(run=cmd_segment_members)

    p = commands.add_parser("sql", help="print the compiled SQL statement")
    p.add_argument("definition", metavar="DEF.json")
    p.add_argument("--dialect", choices=DIALECTS, default="athena")
    p.add_argument("--org", default="demo", help="the org the statement is bound to (default: demo)")
    p.add_argument("--now", metavar="ISO", help="evaluation time (UTC); default: the clock")
    p.add_argument("--database", default=None, help="qualify tables with this database (Athena: the Glue database)")
    p.add_argument("--count", action="store_true", help="the counting statement instead of the members one")
    p.set_defaults(run=cmd_segment_sql)

    commands.add_parser("schema", help="print the JSON Schema of a definition").set_defaults(run=cmd_segment_schema)

    journey = groups.add_parser("journey", help="journey definitions")
    journey_commands = journey.add_subparsers(dest="command", required=True, metavar="{schema}")
    journey_commands.add_parser("schema", help="print the JSON Schema of a journey definition").set_defaults(run=cmd_journey_schema)

    from tern_local.importing import default_api

    importing = groups.add_parser("import", help="bring definitions from another system into a Tern deployment")
    sources = importing.add_subparsers(dest="command", required=True, metavar="{pinpoint,pinpoint-data}")
    p = sources.add_parser(
        "pinpoint", help="import what was saved from Amazon Pinpoint (segments, journeys, campaigns, templates, endpoint files)"
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="JSON or YAML documents (get-journey ... outputs, CloudFormation templates); .csv/.ndjson endpoint files",
    )
    p.add_argument("--dry-run", action="store_true", help="print the report; create nothing")
    p.add_argument("--org", default="acme", help="the org (the local stack's X-Tern-Org; default acme)")
    p.add_argument("--api", default=default_api(), help="the admin API's URL (default $TERN_API or http://127.0.0.1:8000, `tern serve`)")
    p.add_argument("--token", help="a Cognito ID token (with custom:org_id) for a deployed API (default $TERN_TOKEN)")
    p.add_argument(
        "--endpoints", action="append", default=[], metavar="SEGMENT_ID=FILE", help="which IMPORT segment an endpoint file belongs to"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=cmd_import_pinpoint)
    p = sources.add_parser(
        "pinpoint-data", help="turn a Pinpoint export job's endpoint files and its event stream's files into an org's contacts and events"
    )
    p.add_argument(
        "files", nargs="+", metavar="FILE", help="endpoint export files and event-stream files (or folders of them), gzip or not"
    )
    p.add_argument("--org", required=True, help="the org whose lake they become")
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="the lake: a folder, or a deployed stack's lake bucket (s3://BUCKET[/PREFIX]): "
        "OUT/contacts/org_id=ORG/, OUT/events/org_id=ORG/dt=DAY/",
    )
    p.add_argument("--work", metavar="DIR", help="where to work meanwhile (a few times the export's size on disk; default $TMPDIR or /tmp)")
    p.add_argument("--json", action="store_true", help="print the report as one line of JSON")
    p.set_defaults(run=cmd_import_pinpoint_data)

    data = groups.add_parser("data", help="demo data")
    data_commands = data.add_subparsers(dest="command", required=True, metavar="{generate}")
    p = data_commands.add_parser("generate", help="write a realistic demo lake")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--contacts", required=True, type=int, metavar="N")
    p.add_argument("--events-per-contact", type=float, default=20, metavar="K")
    p.add_argument("--days", type=int, default=365, metavar="D")
    p.add_argument("--org", default="demo")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now", metavar="ISO", help="the last day of events (UTC); default: the clock")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(run=cmd_data_generate)

    console = groups.add_parser("console", help="the marketers' console")
    console_commands = console.add_subparsers(dest="command", required=True)
    p = console_commands.add_parser("publish", help="upload the built console (console/dist) to a deployed stack, with its sign-in config")
    p.add_argument("--stack", required=True, help="the CloudFormation stack `sam deploy` made")
    p.set_defaults(run=cmd_console_publish)
    p = console_commands.add_parser("openapi", help="write the admin API's OpenAPI document (the console's types are generated from it)")
    p.add_argument("--out", help="the file to write (default: standard output)")
    p.set_defaults(run=cmd_console_openapi)

    p = groups.add_parser("serve", help="run the local stack: template.yaml in moto, the admin API on 127.0.0.1")
    p.add_argument("--data", required=True, metavar="DIR", help="the lake DuckDB answers from")
    p.add_argument("--port", type=int, default=8000, help="admin API port (0: any free port)")
    p.add_argument("--aws-port", type=int, default=5000, help="moto (local AWS) port")
    p.add_argument("--time-scale", type=float, default=1.0, metavar="S", help="the clock runs S times faster")
    p.set_defaults(run=cmd_serve)
    return top


def fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"tern: {message}\n")
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except DefinitionError as e:
        fail(f"invalid definition: {e}", USER_ERROR)
    except (UsageError, DataError) as e:
        fail(str(e), USER_ERROR)
    except UnresolvedReference as e:
        fail(f"{e} (segment references read stored memberships: evaluate through the admin API, `tern serve`)", USER_ERROR)
    except QueryError as e:
        fail(str(e), RUN_ERROR)
    except BrokenPipeError:
        sys.stderr.close()
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as e:  # a bug in Tern, not the user's doing: one line, the traceback only when asked for
        if os.environ.get("TERN_DEBUG"):
            raise
        fail(f"internal error: {type(e).__name__}: {e} (set TERN_DEBUG=1 for the traceback)", RUN_ERROR)


if __name__ == "__main__":
    main()
