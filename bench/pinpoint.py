"""Pinpoint data conversion benchmark (`make bench`): `tern import pinpoint-data` on a saved export and event stream
as they grow, with its memory. Figures, not pass/fail.

For each size (endpoints, events) it generates, once, into bench-pinpoint/ (reused after):
  - an export job's endpoint files: gzip, one endpoint a line, 1,000,000 endpoints a file, shaped as botocore's
    EndpointResponse: users of one to three endpoints (EMAIL, SMS, APNS), one in ten without a user; user attributes,
    endpoint attributes, metrics, location, demographics; one endpoint in twelve opted out, one in twenty inactive;
  - an event stream as Firehose writes it: gzip, one record a line, 2,000,000 records a file, in order over 365 days:
    `_email.send` / `.delivered` / `.open` / `.click` (with its link) / `.hardbounce`, `_SMS.SUCCESS` (its contact found
    by its number: the SMS records name an account, not an endpoint), `_session.start` and an app's `purchase`, with
    one record in a hundred delivered twice;
then runs the command (`tern import pinpoint-data ... --json`) in a fresh process and prints its seconds, the peak
resident memory of that process and its children (DuckDB's included), the lake it wrote and what its report says.
Flat memory shows as a peak that stays put while the export grows tenfold.

    make bench                                        # 1M endpoints + 20M events, then 10M + 200M
    BENCH_PINPOINT="100000:2000000" python bench/pinpoint.py   # smaller, quicker
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "bench-pinpoint"
SIZES = [
    tuple(int(n) for n in size.split(":")) for size in os.environ.get("BENCH_PINPOINT", "1000000:20000000,10000000:200000000").split(",")
]
ENDPOINTS_A_FILE = 1_000_000
EVENTS_A_FILE = 2_000_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY_MS = 86_400_000
LAUNCH = "https://shop.example.com/launch"


def endpoints_sql(first: int, count: int) -> str:
    """Endpoints `first` .. `first + count - 1`: endpoint i belongs to user i // 2 (so users have one to three), its
    channel EMAIL, SMS or APNS by i % 3; one in ten has no user (a contact of its own, by its address)."""
    return f"""
    SELECT
      'ep-' || i AS Id, 'bench-app' AS ApplicationId,
      CASE i % 3 WHEN 0 THEN 'EMAIL' WHEN 1 THEN 'SMS' ELSE 'APNS' END AS ChannelType,
      CASE i % 3 WHEN 0 THEN 'user' || (i // 2) || '@example.com' WHEN 1 THEN '+4860' || lpad(CAST(i // 2 AS VARCHAR), 7, '0')
                 ELSE md5(CAST(i AS VARCHAR)) END AS Address,
      CASE WHEN i % 20 = 7 THEN 'INACTIVE' ELSE 'ACTIVE' END AS EndpointStatus,
      CASE WHEN i % 12 = 5 THEN 'ALL' ELSE 'NONE' END AS OptOut,
      {{'interests': ['travel', CASE i % 4 WHEN 0 THEN 'music' WHEN 1 THEN 'art' WHEN 2 THEN 'food' ELSE 'sport' END],
        'tier': [CASE WHEN i % 7 = 0 THEN 'gold' ELSE 'silver' END]}} AS Attributes,
      {{'LeadScore': CAST(i % 100 AS DOUBLE), 'visits': CAST(i % 37 AS DOUBLE)}} AS Metrics,
      {{'City': CASE i % 3 WHEN 0 THEN 'Warsaw' WHEN 1 THEN 'Krakow' ELSE 'Seattle' END, 'Country': CASE WHEN i % 3 = 2 THEN 'US' ELSE 'PL' END,
        'PostalCode': lpad(CAST(i % 99999 AS VARCHAR), 5, '0'), 'Latitude': 52.2, 'Longitude': 21.0, 'Region': 'Mazowieckie'}} AS Location,
      {{'Locale': 'pl_PL', 'Timezone': 'Europe/Warsaw', 'Platform': 'ios', 'PlatformVersion': '17.1', 'Make': 'apple', 'Model': 'iPhone'}}
        AS Demographic,
      CASE WHEN i % 10 = 3 THEN {{'UserId': NULL, 'UserAttributes': NULL}}
           ELSE {{'UserId': 'user-' || (i // 2), 'UserAttributes': {{'FirstName': ['Name' || (i // 2 % 1000)], 'LastName': ['Nowak'],
                                                                   'Gender': [CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END]}}}} END AS "User",
      strftime(make_timestamp(({START_MS} - 400 * {DAY_MS}::BIGINT + (i % 400) * {DAY_MS}::BIGINT) * 1000), '%Y-%m-%dT%H:%M:%S.000Z') AS CreationDate,
      strftime(make_timestamp(({START_MS} + (i % 300) * {DAY_MS}::BIGINT) * 1000), '%Y-%m-%dT%H:%M:%S.000Z') AS EffectiveDate,
      'bench-request' AS RequestId
    FROM range({first}, {first + count}) t(i)"""  # noqa: S608 - our own numbers


def events_sql(first: int, count: int, endpoints: int, total: int) -> str:
    """Records `first` .. `first + count - 1` of `total` spread over 365 days in the order they arrived (as Firehose
    writes them: a file holds a few minutes, here a few days), each of the e-mail endpoint (or SMS number) of a
    scattered endpoint."""
    return f"""
    WITH r AS (SELECT i, (i * 7919) % {endpoints} AS e, i % 20 AS kind,
                      {START_MS} + CAST(i * (365.0 * {DAY_MS} / {total}) AS BIGINT) AS moment FROM range({first}, {first + count}) t(i)),
    s AS (SELECT *, e - e % 3 AS mail, e - e % 3 + 1 AS phone FROM r)
    SELECT
      CASE WHEN kind < 5 THEN '_email.send' WHEN kind < 9 THEN '_email.delivered' WHEN kind < 12 THEN '_email.open'
           WHEN kind < 14 THEN '_email.click' WHEN kind = 14 THEN '_email.hardbounce' WHEN kind < 17 THEN '_SMS.SUCCESS'
           WHEN kind < 19 THEN '_session.start' ELSE 'purchase' END AS event_type,
      moment AS event_timestamp, moment + 60000 * (kind % 5) AS arrival_timestamp, '3.1' AS event_version,
      {{'app_id': 'bench-app', 'sdk': {{}}}} AS application,
      {{'client_id': CASE WHEN kind BETWEEN 15 AND 16 THEN '123456789012' ELSE 'ep-' || CASE WHEN kind >= 17 THEN e ELSE mail END END}} AS client,
      CASE WHEN kind BETWEEN 15 AND 16 THEN {{'destination_phone_number': '+4860' || lpad(CAST(phone // 2 AS VARCHAR), 7, '0'),
                                               'record_status': 'DELIVERED', 'message_id': 'sms-' || i, 'plan': NULL}}
           WHEN kind = 19 THEN {{'destination_phone_number': NULL, 'record_status': NULL, 'message_id': NULL, 'plan': 'gold'}} END AS attributes,
      CASE WHEN kind = 19 THEN {{'amount': CAST(i % 300 AS DOUBLE)}} END AS metrics,
      CASE WHEN kind < 15 THEN {{'email_channel': {{'mail_event': {{
        'mail': {{'message_id': 'msg-' || (i // 20), 'from_address': 'news@shop.example.com',
                  'destination': ['user' || (mail // 2) || '@example.com'],
                  'common_headers': {{'from': 'news@shop.example.com', 'subject': 'The launch'}}}},
        'click': CASE WHEN kind BETWEEN 12 AND 13 THEN {{'link': '{LAUNCH}', 'ip_address': '192.0.2.1', 'user_agent': 'Mozilla/5.0'}} END,
        'bounce': CASE WHEN kind = 14 THEN {{'bounce_type': 'Permanent', 'bounce_sub_type': 'General'}} END}}}}}} END AS facets,
      '123456789012' AS awsAccountId
    FROM s"""  # noqa: S608 - our own numbers


def ensure(endpoints: int, events: int) -> tuple[Path, Path]:
    """The saved export and stream of this size (made once)."""
    export, stream = HOME / f"export-{endpoints}", HOME / f"stream-{endpoints}-{events}"
    connection = duckdb.connect(config={"threads": 2})
    connection.execute("SET enable_progress_bar = false")
    for folder, total, a_file, query in (
        (export, endpoints, ENDPOINTS_A_FILE, lambda first, n: endpoints_sql(first, n)),
        (stream, events, EVENTS_A_FILE, lambda first, n: events_sql(first, n, endpoints, events)),
    ):
        stamp = HOME / f"{folder.name}.complete"  # beside the folder: the command reads every file in it
        if stamp.exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        for part, first in enumerate(range(0, total, a_file)):
            n = min(a_file, total - first)
            connection.execute(f"COPY ({query(first, n)}) TO '{folder / f'part-{part:05d}.gz'}' (FORMAT JSON, COMPRESSION gzip)")
        if folder == stream:  # one record in a hundred delivered again, in a file of its own
            connection.execute(
                f"COPY ({events_sql(0, total, endpoints, total)} WHERE i % 100 = 42) TO '{folder / 'redelivered.gz'}' (FORMAT JSON, COMPRESSION gzip)"
            )
        stamp.write_text(json.dumps({"records": total, "seconds": round(time.perf_counter() - started, 1)}))
        print(f"generated {folder.name}: {total:,} records in {time.perf_counter() - started:.0f} s", flush=True)
    connection.close()
    return export, stream


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(endpoints: int, events: int) -> None:
    export, stream = ensure(endpoints, events)
    lake = HOME / f"lake-{endpoints}-{events}"
    subprocess.run(["rm", "-rf", str(lake)], check=True)
    command = [sys.executable, "-m", "tern_local.cli", "import", "pinpoint-data", str(export), str(stream), "--org", "bench",
               "--out", str(lake), "--json"]  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=out, stderr=err)  # noqa: S603 - our own command
        _, status, usage = os.wait4(child.pid, 0)  # this run's own peak, DuckDB's memory included (it runs in process)
        seconds = time.perf_counter() - started
        out.seek(0), err.seek(0)
        if os.waitstatus_to_exitcode(status):
            sys.exit(f"pinpoint-data failed: {err.read().decode().strip()}")
        report = json.loads(out.read())
    peak = usage.ru_maxrss * 1024
    events_written = sum(report["events"].values())
    print(
        f"{endpoints:>11,} endpoints {events:>12,} events | {seconds:7.0f} s | peak RSS {peak / 2**20:6.0f} MiB | "
        f"input {size_of(export) / 2**30 + size_of(stream) / 2**30:5.1f} GiB gzip, lake {size_of(lake) / 2**30:5.2f} GiB | "
        f"{report['contacts_made']:,} contacts ({report['endpoints_merged']:,} endpoints merged), {events_written:,} events "
        f"on {report['event_days']} days, {sum(d['count'] for d in report['dropped']):,} dropped",
        flush=True,
    )


def main() -> None:
    print("tern import pinpoint-data: seconds and peak memory as the saved export grows")
    for endpoints, events in SIZES:
        run(endpoints, events)


if __name__ == "__main__":
    main()
