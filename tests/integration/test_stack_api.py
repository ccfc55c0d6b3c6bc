"""The admin API over real HTTP on a local stack started in this process (moto server, template.yaml,
DuckDB over a lake folder): every endpoint, tenant isolation on every endpoint, and a refresh that
crashes between its manifest and its diff.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack_client import all_members, evaluate, http, live, local_stack, wait_for
from tern.segments.repository import SegmentRepository
from tern.usecases import preview as preview_module
from tern_local.demo_stack import LAUNCH_LINK, add_clicks
from tern_local.generator import generate
from tern_local.stack import LocalStack

CLICKED = {
    "name": "Clicked the launch link this week",
    "where": {"all": [{"kind": "activity", "event_type": "email_clicked", "filters": {"link": LAUNCH_LINK}, "window": {"last_days": 7}}]},
    "refresh": {"every": 365, "unit": "days"},  # the schedule's first run evaluates it; the next is a year away
}
WARSAW = {
    "name": "Warsaw",
    "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]},
    "refresh": {"every": 365, "unit": "days"},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    lake: Path = tmp_path_factory.mktemp("stack-api-lake")
    for org, seed in (("acme", 3), ("globex", 4)):
        generate(lake, contacts=800, events_per_contact=8, days=30, org=org, seed=seed)
    with local_stack(lake) as running:
        yield running


def test_every_endpoint_answers_over_http(stack: LocalStack) -> None:
    definition = {k: v for k, v in WARSAW.items() if k != "refresh"}
    assert http(stack, "POST", "/segments/preview", definition)[1]["total"] > 0
    segment = live(stack, WARSAW)
    sid = segment["id"]
    assert segment["latest"]["joined"] == segment["latest"]["members"] > 0
    assert sid in [s["id"] for s in http(stack, "GET", "/segments")[1]["segments"]]
    again = evaluate(stack, sid)
    assert (again["status"], again["members"], again["joined"], again["left"]) == ("done", segment["latest"]["members"], 0, 0)
    assert http(stack, "GET", f"/segments/{sid}")[1]["latest"]["id"] == again["evaluation_id"]
    assert len(all_members(stack, sid)) == segment["latest"]["members"]
    assert len(http(stack, "GET", f"/segments/{sid}/history")[1]["history"]) == 2
    status, copied = http(stack, "POST", f"/segments/{sid}/copy")
    assert status == 201 and copied["status"] == "draft"
    assert http(stack, "PUT", f"/segments/{copied['id']}", {**WARSAW, "name": "Warsaw 2"})[1]["name"] == "Warsaw 2"
    assert http(stack, "DELETE", f"/segments/{copied['id']}")[1]["status"] == "deleted"
    assert http(stack, "POST", f"/segments/{copied['id']}/restore")[1]["status"] == "draft"
    assert http(stack, "POST", f"/segments/{sid}/archive")[1]["status"] == "archived"
    status, listed = http(stack, "POST", "/lists", raw="contact_id\nc0000001\nc0000002\nnobody\n")
    assert status == 201 and (listed["matched"], listed["unknown"]) == (2, 1)
    assert http(stack, "GET", f"/lists/{listed['id']}")[1]["matched"] == 2
    assert "/lists/{list_id}" in http(stack, "GET", "/openapi.json")[1]["paths"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/segments", {"name": "x", "where": {"all": [{"kind": "age", "min": "old"}]}}, 400),
        ("PUT", "/segments/nope", WARSAW, 404),
        ("POST", "/segments/nope/go-live", None, 404),
        ("GET", "/segments?include_deleted=maybe", None, 400),
        ("GET", "/lists/nope", None, 404),
        ("POST", "/lists", None, 400),
    ],
)
def test_unhappy_paths_over_http(stack: LocalStack, method: str, path: str, body: Any, status: int) -> None:
    got, answer = http(stack, method, path, body)
    assert got == status, answer
    assert answer["message"]


def test_org_b_never_sees_changes_or_evaluates_org_a(stack: LocalStack) -> None:
    a = live(stack, WARSAW)
    sid = a["id"]
    lid = http(stack, "POST", "/lists", raw="contact_id\nc0000001\n")[1]["id"]
    members_before = all_members(stack, sid)
    ghost = "0123456789ab"
    requests = [
        ("GET", "/segments/{}", None), ("PUT", "/segments/{}", WARSAW), ("DELETE", "/segments/{}", None),
        ("POST", "/segments/{}/restore", None), ("POST", "/segments/{}/copy", None), ("POST", "/segments/{}/go-live", None),
        ("POST", "/segments/{}/archive", None), ("POST", "/segments/{}/evaluate", None), ("GET", "/segments/{}/members", None),
        ("GET", "/segments/{}/history", None),
        ("GET", "/segments/{}/evaluations/" + a["latest"]["id"], None),
    ]  # fmt: skip
    for method, path, body in requests:
        got = http(stack, method, path.format(sid), body, org="globex")
        assert got[0] == 404, (method, path, got)
        unknown = http(stack, method, path.format(ghost), body, org="globex")
        assert json.dumps(got).replace(sid, ghost) == json.dumps(unknown)  # exactly as if it did not exist
    assert http(stack, "GET", f"/lists/{lid}", org="globex")[0] == 404
    # referring to A's segment or list from B is referring to nothing
    for criterion, missing in (({"kind": "in_segment", "segment_id": sid}, {"kind": "in_segment", "segment_id": ghost}),
                               ({"kind": "in_list", "list_id": lid}, {"kind": "in_list", "list_id": ghost})):  # fmt: skip
        for path in ("/segments", "/segments/preview"):
            got = http(stack, "POST", path, {"name": "b", "where": {"all": [criterion]}}, org="globex")
            assert got[0] == 400, got
            assert (
                got[1]["message"].replace(sid, ghost).replace(lid, ghost)
                == http(stack, "POST", path, {"name": "b", "where": {"all": [missing]}}, org="globex")[1]["message"]
            )
    assert sid not in [s["id"] for s in http(stack, "GET", "/segments?include_deleted=true", org="globex")[1]["segments"]]
    after = http(stack, "GET", f"/segments/{sid}")[1]
    assert (after["status"], after["version"], after["latest"]) == ("live", a["version"], a["latest"])
    assert all_members(stack, sid) == members_before
    assert len(http(stack, "GET", f"/segments/{sid}/history")[1]["history"]) == 1


def test_a_refresh_whose_batches_fail_leaves_the_membership_whole_and_the_next_converges(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    segment = live(stack, CLICKED)
    sid, before = segment["id"], set(all_members(stack, sid := segment["id"]))
    others = [c for c in (f"c{i:07d}" for i in range(1, 801)) if c not in before][:25]  # contacts c0000001..c0000800
    add_clicks(stack.data, "acme", others, stack.clock())

    def killed(*_: Any, **__: Any) -> int:
        raise RuntimeError("Lambda timed out")  # every batch dies before writing a single membership item

    monkeypatch.setattr(SegmentRepository, "apply_membership", killed)
    failed = evaluate(stack, sid, timeout=120)  # each batch's retries (2 s, 4 s, 8 s) run out: the Map fails
    assert failed["status"] == "failed" and failed["reason"]
    manifests = list((stack.data / "memberships" / "org_id=acme" / f"segment_id={sid}").glob("evaluation_id=*/*.parquet"))
    assert len(manifests) == 2  # the failed evaluation's manifest was written...
    assert set(all_members(stack, sid)) == before  # ...and the membership readers see is the old one, whole
    after = http(stack, "GET", f"/segments/{sid}")[1]
    assert after["latest"] == segment["latest"] and after["evaluating_since"] is None  # no longer evaluating
    assert len(http(stack, "GET", f"/segments/{sid}/history")[1]["history"]) == 1

    monkeypatch.undo()
    evaluation = evaluate(stack, sid)
    assert evaluation["status"] == "done", evaluation
    assert set(all_members(stack, sid)) == before | set(others)
    assert (evaluation["members"], evaluation["joined"], evaluation["left"]) == (len(before) + 25, 25, 0)
    assert [h["members"] for h in http(stack, "GET", f"/segments/{sid}/history")[1]["history"]] == [len(before) + 25, len(before)]


def test_in_segment_reads_the_stored_membership(stack: LocalStack) -> None:
    warsaw = live(stack, {**WARSAW, "name": "Warsaw, referred to"})
    female = {"kind": "gender", "value": "female"}
    inside = {"name": "in", "where": {"all": [{"kind": "in_segment", "segment_id": warsaw["id"]}, female]}}
    outside = {"name": "out", "where": {"all": [{"kind": "not_in_segment", "segment_id": warsaw["id"]}, female]}}
    direct = {"name": "direct", "where": {"all": [WARSAW["where"]["all"][0], female]}}  # type: ignore[index]
    got_in = http(stack, "POST", "/segments/preview", inside)[1]
    got_out = http(stack, "POST", "/segments/preview", outside)[1]
    assert got_in["total"] == http(stack, "POST", "/segments/preview", direct)[1]["total"] > 0
    assert got_in["criteria"][0]["count"] == warsaw["latest"]["members"]
    assert got_in["total"] + got_out["total"] == got_in["criteria"][1]["count"]  # every woman is in or out
    nested = live(stack, {**inside, "refresh": {"every": 365, "unit": "days"}})
    assert nested["latest"]["members"] == got_in["total"]
    assert evaluate(stack, nested["id"])["members"] == got_in["total"]


def athena_only(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if every org's lake were larger than the preview function copies: previews count through Athena."""
    monkeypatch.setattr(stack.functions["PreviewFunction"].lake.copies, "room", 0)


def test_a_preview_of_a_lake_too_large_to_copy_answers_202_and_is_polled(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    definition = {"name": "p", "where": {"all": [WARSAW["where"]["all"][0], {"kind": "gender", "value": "female"}]}}  # type: ignore[index]
    quick = http(stack, "POST", "/segments/preview", definition)
    assert quick[0] == 200 and quick[1]["total"] > 0 and quick[1]["counted_by"] == "quick"
    athena_only(stack, monkeypatch)
    monkeypatch.setattr(preview_module, "WAIT_SECONDS", 0.0)  # as if the lake were so large Athena's count took longer
    status, started = http(stack, "POST", "/segments/preview", definition)
    assert status == 202 and started["status"] == "running" and started["poll"] == f"/previews/{started['preview_id']}"
    assert started["note"] == preview_module.LARGE_LAKE  # why it is not counted as the marketer types
    assert http(stack, "GET", started["poll"], org="globex")[0] == 404  # another org's preview is nobody's
    assert http(stack, "GET", "/previews/not-an-id")[0] == 404
    done = wait_for(lambda: (p := http(stack, "GET", started["poll"])[1])["status"] == "done" and p, timeout=30, what="the preview")
    assert done["counted_by"] == "athena"
    same = ("total", "criteria", "nodes", "sample", "members")
    assert {k: done[k] for k in same} == {k: quick[1][k] for k in same}  # Athena counts what the quick path counted


def test_a_preview_function_that_fails_leaves_the_count_to_athena(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    definition = {"name": "p", "where": {"all": [{"kind": "gender", "value": "male"}]}}
    quick = http(stack, "POST", "/segments/preview", definition)[1]

    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("out of memory")  # as a function that crashed: Lambda answers with a FunctionError

    monkeypatch.setattr(stack.functions["PreviewFunction"].lake, "answer", broken)
    status, counted = http(stack, "POST", "/segments/preview", definition)
    if status == 202:  # Athena took longer than WAIT_SECONDS
        assert counted["note"] == preview_module.QUICK_DOWN
        counted = wait_for(lambda: (p := http(stack, "GET", counted["poll"])[1])["status"] == "done" and p, timeout=30, what="the preview")
    assert counted["counted_by"] == "athena" and counted["total"] == quick["total"] > 0


def test_an_evaluation_in_one_org_holds_up_no_query_of_another(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Athena runs queries side by side: while acme's evaluation is held inside its UNLOAD, globex's preview is
    counted at once (a preview held up for WAIT_SECONDS would answer 202 instead)."""
    segment = live(stack, {**WARSAW, "name": "Warsaw, held"})
    unloading, release = threading.Event(), threading.Event()
    original = stack.athena._unload

    def held(*args: Any) -> None:
        unloading.set()
        release.wait(60)
        original(*args)

    monkeypatch.setattr(stack.athena, "_unload", held)
    athena_only(stack, monkeypatch)  # globex's preview through Athena too
    started = http(stack, "POST", f"/segments/{segment['id']}/evaluate")[1]
    try:
        assert unloading.wait(30), "the evaluation never reached its UNLOAD"
        status, counted = http(stack, "POST", "/segments/preview", {k: v for k, v in WARSAW.items() if k != "refresh"}, org="globex")
        assert status == 200 and counted["total"] > 0, counted
        assert http(stack, "GET", "/segments", org="globex")[0] == 200
        assert http(stack, "GET", started["poll"])[1]["status"] == "running"  # acme's is still held
    finally:
        release.set()
    done = wait_for(lambda: (e := http(stack, "GET", started["poll"])[1])["status"] != "running" and e, timeout=60, what="the evaluation")
    assert done["status"] == "done", done
