"""SMS opt-outs (tern.journeys.opt_outs): the STOPs on an org's opt-out list, checked on a schedule and recorded
where Tern looks, against the real compiler and DuckDB over Parquet; AWS's list is a fake of the port."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tern.engines.duckdb import DuckDBEngine
from tern.journeys.engagement import Engagement
from tern.journeys.opt_outs import SmsOptOuts, StopRecord
from tern.journeys.senders import CHECK_EVERY, SmsSenderDraft, SmsSenders, check_request, check_schedule
from tern.parquet import CONTACTS_SCHEMA
from tern.segments.definition import parse_definition
from tern.segments.evaluate import members
from tern.store.overlay import ContactOverlay
from tern_local.lake_files import DirLakeFiles

from fakes import MemoryEvents, MemoryScheduler, MemoryTable

NOW = dt.datetime(2026, 12, 7, 12, 0)
TEXTED = {"all": [{"kind": "consents", "op": "has_any", "values": ["sms_marketing"]}]}


class OptOutList:
    """The org's opt-out list as End User Messaging keeps it: numbers that replied STOP, and when."""

    def __init__(self) -> None:
        self.lists: dict[str, str] = {}
        self.stops: dict[str, list[tuple[str, dt.datetime]]] = {}

    def assign(self, identity: str, opt_out_list: str) -> str:
        self.lists[identity] = opt_out_list
        return "+48500100300"

    def end_user_opt_outs(self, opt_out_list: str) -> Iterator[tuple[str, dt.datetime]]:
        yield from self.stops.get(opt_out_list, [])


def lake(root: Path) -> DuckDBEngine:
    people = {
        "acme": [("a", "+48 600 100 200"), ("b", "+48600100201"), ("c", None), ("d", "(+48) 600-100-200")],
        "globex": [("x", "+48600100200")],
    }
    for org, rows in people.items():
        folder = root / "contacts" / f"org_id={org}"
        folder.mkdir(parents=True)
        contacts = [{"contact_id": c, "phone": phone, "consents": ["sms_marketing"]} for c, phone in rows]
        pq.write_table(pa.Table.from_pylist(contacts, schema=CONTACTS_SCHEMA), folder / "c.parquet")
    return DuckDBEngine(root)


def test_stops_on_the_orgs_list_withdraw_its_contacts_with_that_number_once(tmp_path: Path) -> None:
    engine, table, events, aws, checks = lake(tmp_path), MemoryTable(), MemoryEvents(), OptOutList(), MemoryScheduler()
    overlay, engagement = ContactOverlay(DirLakeFiles(tmp_path), table), Engagement(table)  # type: ignore[arg-type]
    opt_outs = SmsOptOuts(table, aws, engine, StopRecord(engagement, overlay, events), lambda: NOW)  # type: ignore[arg-type]
    assert opt_outs.check("acme") is None  # no number of its own: nothing to check

    acme = SmsSenders("acme", table, aws, "tern-test", lambda: NOW, checks=checks)  # type: ignore[arg-type]
    acme.set(SmsSenderDraft(origination_identity="phone-0a1b"))
    schedule = checks.schedules[check_schedule("acme")]
    assert (schedule["expression"], schedule["payload"]) == (CHECK_EVERY, check_request("acme"))
    assert opt_outs.check("acme").stops == 0  # type: ignore[union-attr]  # nobody has replied STOP yet

    aws.stops["tern-test-acme"] = [("+48600100200", NOW - dt.timedelta(minutes=5)), ("+48700000000", NOW - dt.timedelta(minutes=4))]
    checked = opt_outs.check("acme")
    assert checked is not None and (checked.stops, checked.contacts, checked.unmatched) == (2, 2, 1)

    # both contacts holding the number, however it is spaced, lose the consent; nobody else; no other org
    assert members(parse_definition({"name": "t", "where": TEXTED}), engine, "acme", NOW) == ["b", "c"]
    assert members(parse_definition({"name": "t", "where": TEXTED}), engine, "globex", NOW) == ["x"]
    assert overlay.consent("acme", "a", "sms_marketing") == "remove" and overlay.consent("acme", "b", "sms_marketing") is None
    assert sorted((r["contact_id"], r["event_type"]) for r in events.rows) == [("a", "sms_opted_out"), ("d", "sms_opted_out")]
    assert engagement.suppressed("acme", "sms", "+48700000000") == "replied STOP"  # nobody holds it: no text goes to it
    assert engagement.suppressed("globex", "sms", "+48600100200") is None

    # the next check records nothing twice; a later STOP, and one AWS dated before the last check, are found
    assert opt_outs.check("acme").stops == 0  # type: ignore[union-attr]
    aws.stops["tern-test-acme"] += [("+48600100201", NOW + dt.timedelta(minutes=1)), ("+48600999999", NOW - dt.timedelta(hours=2))]
    again = opt_outs.check("acme")
    assert again is not None and (again.stops, again.contacts) == (2, 1) and len(events.rows) == 3
    assert members(parse_definition({"name": "t", "where": TEXTED}), engine, "acme", NOW + dt.timedelta(minutes=2)) == ["c"]

    # the number given up: its schedule goes with it
    acme.remove()
    assert check_schedule("acme") not in checks.schedules and opt_outs.check("acme") is None
