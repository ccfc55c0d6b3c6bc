"""The console in a real browser (Debian's Chromium, driven by Playwright) against a local stack this module starts:
everything through the UI, controls found by role and accessible name, numbers checked against the CLI and the
API on the same lake. Screenshots of each page land in test-artifacts/console/.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from graph_standin import GraphStandIn
from stack_client import live, local_stack, ok, ses_sent, wait_for
from tern_local.console import DIST
from tern_local.demo_stack import ses_click
from tern_local.generator import generate
from tern_local.ses import publish
from tern_local.stack import REGION, LocalStack

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
TERN = [sys.executable, "-m", "tern_local.cli"]
WAIT_MS = 60_000
META_TOKEN = "EAAB-system-user-token-0001"

# What the test builds through the UI: three criteria and a `not` (no time window, so the CLI's clock and the
# stack's cannot disagree about an event at a window's edge).
BUILT = {"all": [
    {"kind": "consents", "op": "has_all", "values": ["email_marketing"]},
    {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"},
    {"not": {"kind": "activity", "event_type": "purchase"}},
]}  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root: Path = tmp_path_factory.mktemp("console-lake")
    generate(root, contacts=3000, events_per_contact=6, days=60, org="acme", seed=15)
    generate(root, contacts=300, events_per_contact=4, days=30, org="globex", seed=16)
    return root


@pytest.fixture(scope="module")
def graph() -> Iterator[GraphStandIn]:
    standin = GraphStandIn(tokens={META_TOKEN}, accounts={"1234567890"})
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def stack(lake: Path, graph: GraphStandIn) -> Iterator[LocalStack]:
    assert (DIST / "index.html").is_file(), "the console is not built: `make test` builds it (make console)"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TERN_META_GRAPH_URL", graph.url)  # Meta's Graph API: its stand-in, read by the functions at cold start
        with local_stack(lake) as running:
            yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), "Debian's chromium is not installed: `make test` installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, stack: LocalStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    # the distribution's Content-Security-Policy holds here too (tern_local.console): nothing the console does breaks it
    opened.on("console", lambda m: m.type == "error" and "Content Security Policy" in m.text and problems.append(f"CSP: {m.text}"))
    opened.on("response", lambda r: r.status >= 500 and problems.append(f"{r.request.method} {r.url}: {r.status}"))
    opened.goto(f"http://127.0.0.1:{stack.port}/")
    opened.get_by_label("Organisation").select_option("acme")
    yield opened
    context.close()
    assert not problems, problems


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def new_journey(page: Page, name: str, audience: str, first: str | None = None) -> None:
    """A journey from "New journey": its first e-mail `first` (content's name), or none (an empty path)."""
    nav(page, "Journeys")
    page.get_by_role("button", name="New journey").click()
    making = page.get_by_role("form", name="New journey")
    making.get_by_label("Journey name").fill(name)
    making.get_by_label("Audience").select_option(label=audience)
    if first is None:
        making.get_by_label("First e-mail").select_option("")
    else:
        making.get_by_label("First e-mail").select_option(label=first)
    making.get_by_role("button", name="Create and open the canvas").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def athena_queries(stack: LocalStack, since: dict[str, str] | None = None) -> dict[str, str]:
    """The queries the stack's Athena was asked to run (the local Athena's log: ListQueryExecutions, then
    BatchGetQueryExecution), id -> statement; with `since`, those not in it and not a refresh's.

    A refresh runs on its own schedule (a segment gone live earlier in the module, its one-time schedule firing a
    minute later): its UNLOAD of the members and its difference against the stored membership (`is_new`) are not
    the editor's, and are left out."""
    athena = boto3.client(
        "athena", endpoint_url=stack.endpoint, region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local"
    )
    pages = athena.get_paginator("list_query_executions").paginate(WorkGroup=stack.resolver.names["AthenaWorkGroup"])
    ids = [query for page in pages for query in page["QueryExecutionIds"] if since is None or query not in since]
    found = {}
    for start in range(0, len(ids), 50):
        for query in athena.batch_get_query_execution(QueryExecutionIds=ids[start : start + 50])["QueryExecutions"]:
            found[query["QueryExecutionId"]] = query["Query"]
    if since is None:
        return found
    return {q: sql for q, sql in found.items() if not sql.lstrip().upper().startswith("UNLOAD") and "is_new" not in sql}


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def test_a_segment_built_in_the_editor_counts_what_the_cli_counts(page: Page, stack: LocalStack, lake: Path, tmp_path: Path) -> None:
    asked = athena_queries(stack)
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name", exact=True).fill("Warsaw subscribers who never bought")
    # 1 is there from the start (e-mail consent); add 2, an attribute, and 3, an activity, then negate 3
    page.get_by_role("button", name="Add a criterion to Segment").click()
    second = page.get_by_role("group", name="2: Attribute")
    second.get_by_label("Field", exact=True).select_option("city")
    second.get_by_label("Value", exact=True).fill("Warszawa")
    page.get_by_role("button", name="Add a criterion to Segment").click()
    page.get_by_label("Criterion kind of 3").select_option("activity")
    third = page.get_by_role("group", name="3: Activity (did, how often)")
    third.get_by_label("Event type", exact=True).fill("purchase")
    third.get_by_label("Window", exact=True).select_option("")  # all time
    page.get_by_role("button", name="Negate 3").click()

    definition = tmp_path / "built.json"
    definition.write_text(json.dumps({"name": "built", "where": BUILT}))
    done = subprocess.run(
        [*TERN, "segment", "count", str(definition), "--data", str(lake), "--org", "acme"], capture_output=True, text=True, check=True
    )
    expected = {node["path"]: node["count"] for node in json.loads(done.stdout)["nodes"]}
    labels = {"where": "Segment", "where.all[0]": "1", "where.all[1]": "2", "where.all[2]": "3", "where.all[2].not": "3.1"}
    assert set(expected) == set(labels)
    expect(page.get_by_label("Total contacts")).to_have_text(f"{expected['where']:,}", timeout=WAIT_MS)
    for path, label in labels.items():
        expect(page.get_by_label(f"Count of {label}", exact=True)).to_have_text(f"{expected[path]:,}", timeout=WAIT_MS)
    assert page.get_by_role("table").filter(has_text="Contact").locator("tbody tr").count() == min(50, expected["where"])
    shot(page, "segment-editor")

    page.get_by_role("tab", name="JSON").click()  # the JSON view holds what the controls built
    assert json.loads(page.get_by_label("The definition's where (JSON)").input_value()) == BUILT
    page.get_by_role("tab", name="Builder").click()
    assert athena_queries(stack, since=asked) == {}  # every count while editing came from the quick path, none from Athena

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Warsaw subscribers who never bought")).to_be_visible()
    page.get_by_role("button", name="Go live").click()
    page.get_by_role("button", name="Evaluate now").click()  # a one-time segment's schedule would take a minute
    expect(page.get_by_role("img", name=re.compile(r"Members, joined and left over 1 evaluations"))).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("dl.facts dd").first).to_have_text(f"{expected['where']:,}")
    shot(page, "segment")


def test_a_problem_is_shown_at_the_control_it_names(page: Page) -> None:
    page.get_by_role("link", name="New segment").click()
    first = page.get_by_role("group", name="1: Consents")
    page.get_by_label("Criterion kind of 1").select_option("age")
    first = page.get_by_role("group", name="1: Age")
    first.get_by_label("From age", exact=True).fill("-5")
    expect(first.get_by_role("alert")).to_have_text("From age: must be at least 0", timeout=WAIT_MS)  # in words, once
    expect(first.get_by_label("From age", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Count of 1", exact=True)).to_have_text("…")


def test_the_live_segment_exports_a_csv_to_download(page: Page, stack: LocalStack) -> None:
    segment = next(s for s in ok(stack, "GET", "/segments")["segments"] if s["status"] == "live")
    page.get_by_role("link", name=segment["name"]).click()
    page.get_by_label("Format").select_option("csv")
    page.get_by_role("button", name="Start export").click()
    link = page.get_by_role("link", name="Download CSV")
    expect(link).to_be_visible(timeout=WAIT_MS)
    with page.expect_download() as download:
        link.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == segment["latest"]["members"] and "contact_id" in rows[0]
    shot(page, "segment-export")


def test_a_list_is_uploaded_and_its_report_shown(page: Page, lake: Path, tmp_path: Path) -> None:
    import pyarrow.dataset as ds

    emails = [
        r["email"]
        for r in ds.dataset(lake / "contacts" / "org_id=acme", format="parquet").to_table(columns=["email"]).to_pylist()
        if r["email"]
    ][:40]
    upload = tmp_path / "guests.csv"
    upload.write_text("email\n" + "\n".join(emails) + "\nnobody@example.org\nnot-an-address\n" + emails[0] + "\n")
    nav(page, "Lists")
    page.get_by_label("List name").fill("Gala guests")
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()
    report = page.get_by_role("region", name=re.compile("Imported “Gala guests”"))
    expect(report).to_be_visible(timeout=WAIT_MS)
    facts = dict(zip(report.locator("dt").all_inner_texts(), report.locator("dd").all_inner_texts(), strict=True))
    assert (facts["Matched"], facts["Unknown"], facts["Duplicates"], facts["Bad rows"]) == ("40", "1", "1", "1")
    expect(report.get_by_role("table", name="Bad rows")).to_contain_text("not an e-mail address")
    expect(page.get_by_role("table").last).to_contain_text("Gala guests")
    shot(page, "lists")


def test_every_control_has_an_accessible_name_and_the_org_picker_switches_orgs(page: Page, stack: LocalStack) -> None:
    for where in ("#/", "#/segments/new", "#/lists", "#/journeys", "#/content", "#/sending", "#/settings"):
        page.goto(f"http://127.0.0.1:{stack.port}/{where}")
        page.wait_for_load_state("networkidle")
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')
                              && !(e.textContent || '').trim())
                 .map(e => e.outerHTML.slice(0, 120))"""
        )
        assert unnamed == [], (where, unnamed)
    page.goto(f"http://127.0.0.1:{stack.port}/#/")
    expect(page.get_by_role("link", name="Warsaw subscribers who never bought")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Organisation").select_option("globex")
    expect(page.get_by_role("link", name="Warsaw subscribers who never bought")).to_have_count(0)
    expect(page.get_by_text("No segments yet.")).to_be_visible()


LINK = "https://shop.example.com/new"


def test_the_classic_journey_is_built_on_the_canvas_run_and_its_figures_drawn(page: Page, stack: LocalStack) -> None:
    # the content, through the content page, previewed for a contact
    nav(page, "Content")
    page.get_by_role("button", name="New e-mail").click()
    page.get_by_label("Content name").fill("Announcement")
    page.get_by_label("Subject").fill("{{first_name|Hello}}, it is coming")
    page.get_by_label("HTML body").fill(f"<p>Hi {{{{first_name|there}}}}</p><a href='{LINK}'>See it</a>")
    page.get_by_label("Ready to send").check()
    page.get_by_label("Preview for contact").fill("c0000001")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview-subject")).to_contain_text("it is coming", timeout=WAIT_MS)
    shot(page, "content")
    page.get_by_role("button", name="Save content").click()
    expect(page.get_by_role("cell", name="Announcement", exact=True)).to_be_visible()
    page.get_by_role("button", name="New SMS").click()
    page.get_by_label("Content name").fill("It is out")
    page.get_by_label("Text", exact=True).fill("{{first_name|Hi}}: it is out!")
    page.get_by_label("Ready to send").check()
    page.get_by_role("button", name="Save content").click()
    expect(page.get_by_role("cell", name="It is out", exact=True)).to_be_visible()

    # the audience: the uploaded list as a live segment
    nav(page, "Segments")
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name", exact=True).fill("Gala guests, live")
    page.get_by_label("Criterion kind of 1").select_option("in_list")
    page.get_by_role("group", name="1: On a list").get_by_label("List").select_option(label="Gala guests")
    expect(page.get_by_label("Total contacts")).to_have_text("40", timeout=WAIT_MS)
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("button", name="Go live").click()
    page.get_by_role("button", name="Evaluate now").click()
    expect(page.locator("dl.facts dd").first).to_have_text("40", timeout=WAIT_MS)

    # the journey, on the canvas
    new_journey(page, "Product launch", "Gala guests, live")

    def add(kind: str) -> None:
        page.get_by_label("New step").select_option(kind)
        page.get_by_role("button", name=re.compile("^Add step")).click()

    add("send_email")  # nothing selected, and the path went straight to its end: the new step goes first
    expect(page.get_by_role("button", name="Start here")).to_have_count(0)
    page.get_by_label("Content").select_option(label="Announcement")
    add("branch_on_event")  # after the selected e-mail: its next
    branch = page.get_by_role("group", name="Step clicked settings")
    branch.get_by_label("Message step").select_option("email")
    branch.get_by_label(re.compile("^Link")).fill(LINK)
    branch.get_by_label(re.compile("^Timeout")).fill("P1D")
    branch.get_by_label("Way no leads to").select_option("end")
    add("wait_until")  # the branch's first open way: yes
    page.get_by_role("group", name="Step hold settings").get_by_label(re.compile("^At")).fill("2026-01-08T10:00:00+01:00")
    add("send_sms")
    sms = page.get_by_role("group", name="Step sms settings")
    sms.get_by_label("Content").select_option(label="It is out")
    sms.get_by_label("Then").select_option("end")
    for step in ("email", "clicked", "hold", "sms", "end"):
        expect(page.get_by_role("group", name=re.compile(f"^Step {step}: "))).to_be_visible()
    shot(page, "journey-draft")

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_visible(timeout=WAIT_MS)

    # clicks, as SES publishes them, on the first three e-mails sent
    journey = next(j for j in ok(stack, "GET", "/journeys")["journeys"] if j["name"] == "Product launch")
    wait_for(lambda: len(ses_sent()) >= 3, timeout=120, every=0.2, what="the first e-mails")
    for message in ses_sent()[:3]:
        ses_click(boto3.client("events", endpoint_url=stack.endpoint, region_name=REGION), message.id, LINK)
    sent = len(ses_sent())
    wait_for(lambda: len(sms_sent()) >= 1, timeout=120, every=0.2, what="a clicker's SMS")

    figures = page.get_by_label("Figures of clicked")
    expect(figures).to_contain_text("clicked", timeout=WAIT_MS)
    expect(page.get_by_label("Figures of email")).to_contain_text("sent", timeout=WAIT_MS)
    analytics = ok(stack, "GET", f"/journeys/{journey['id']}/analytics")
    by_step = {s["step_id"]: s for s in analytics["steps"]}
    assert by_step["email"]["sent"] >= sent - 1 and by_step["clicked"]["clicked"] >= 1
    expect(page.get_by_role("img", name=re.compile("Contacts entering each of 5 steps"))).to_be_visible()
    shot(page, "journey-running")

    # the clickers, saved as a segment from the branch's node
    page.get_by_role("group", name=re.compile("^Step clicked: ")).click()
    page.get_by_role("complementary", name="Step clicked").get_by_label("Contacts who").select_option("clicked")
    page.get_by_role("button", name="Save clicked contacts as a segment").click()
    expect(page.get_by_role("heading", name=re.compile("clicked"))).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Go live")).to_be_visible()


def test_the_editor_and_the_canvas_work_from_the_keyboard(page: Page, stack: LocalStack) -> None:
    page.get_by_role("link", name="New segment").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Add a criterion to Segment").focus()
    page.keyboard.press("Enter")
    second = page.get_by_role("group", name="2: Attribute")
    second.get_by_label("Value", exact=True).focus()
    page.keyboard.type("Kraków")
    page.get_by_role("button", name="Negate 2").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("group", name="2: Not")).to_be_visible()
    expect(page.get_by_label("Count of 2.1", exact=True)).not_to_have_text("…", timeout=WAIT_MS)

    journey = next(j for j in ok(stack, "GET", "/journeys")["journeys"] if j["name"] == "Product launch")
    page.goto(f"http://127.0.0.1:{stack.port}/#/journeys/{journey['id']}")
    page.get_by_role("group", name=re.compile("^Step clicked: ")).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("complementary", name="Step clicked")).to_be_visible()


def test_a_journeys_problems_are_shown_on_its_nodes(page: Page) -> None:
    new_journey(page, "Unfinished", "Gala guests, live")
    page.get_by_label("New step").select_option("send_email")
    page.get_by_role("button", name=re.compile("^Add step")).click()
    page.get_by_role("button", name="Save", exact=True).click()
    node = page.get_by_role("group", name=re.compile("^Step email: "))
    expect(node).to_contain_text("Content: must not be empty", timeout=WAIT_MS)  # in words, at the step
    expect(page.get_by_role("complementary", name="Step email").get_by_role("alert")).to_contain_text("Content: must not be empty")
    expect(node).not_to_contain_text("content_id")
    shot(page, "journey-problems")


@pytest.mark.parametrize("where", ["#/", "#/segments/new", "#/lists", "#/content", "#/journeys", "#/sending", "#/settings"])
def test_every_page_fits_a_tablet(browser: Browser, stack: LocalStack, where: str) -> None:
    context = browser.new_context(viewport={"width": 820, "height": 1180})
    tablet = context.new_page()
    tablet.goto(f"http://127.0.0.1:{stack.port}/{where}")
    tablet.wait_for_load_state("networkidle")
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 820, "wider than a tablet's screen"
    if where == "#/segments/new":
        shot(tablet, "segment-editor-tablet")
    context.close()


def sms_sent() -> list[tuple[str, str]]:
    from tern_local.sms import sent

    return sent()


def test_a_sending_domain_is_added_its_records_shown_and_verified_once_published(page: Page, stack: LocalStack) -> None:
    nav(page, "Sending")
    page.get_by_label("Domain (e.g. news.example.com)").fill("news.console-shop.example")
    page.get_by_role("button", name="Add domain").click()
    card = page.get_by_role("article", name="Domain news.console-shop.example")
    expect(card).to_contain_text("Waiting for its DNS records", timeout=WAIT_MS)
    records = card.get_by_role("table", name="DNS records for news.console-shop.example")
    expect(records.get_by_role("row")).to_have_count(1 + 6)  # three DKIM CNAMEs, MX, SPF, DMARC
    shot(page, "sending-domain-pending")
    # the marketer publishes them at their DNS host (on the local stack: its DNS file)
    rows = [[c.inner_text() for c in row.get_by_role("cell").all()] for row in records.get_by_role("row").all()[1:]]
    publish(stack.data / "dns.txt", [(name, kind, value) for kind, name, value, purpose in rows if "optional" not in purpose])
    card.get_by_role("button", name="Check again").click()
    expect(card).to_contain_text("Verified: ready to send", timeout=WAIT_MS)
    expect(card.get_by_role("table")).to_have_count(0)
    # the postal address every e-mail shows, saved and read back
    page.get_by_label("Postal address (shown in every marketing e-mail)").fill("Acme, ul. Długa 1, Warszawa")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved", timeout=WAIT_MS)
    assert ok(stack, "GET", "/settings/messages")["postal_address"] == "Acme, ul. Długa 1, Warszawa"


def test_a_webhook_destinations_secret_is_replaced_and_the_destination_removed(page: Page, stack: LocalStack) -> None:
    nav(page, "Destinations & settings")
    page.get_by_label("Destination name").fill("Console CRM")
    page.get_by_label("URL (https, public)").fill("http://127.0.0.1:9/hook")  # the local stack alone takes http to itself
    page.get_by_label("Signing secret (16+ characters, shown only now)").fill("the-first-secret-01")
    page.get_by_role("button", name="Add destination").click()
    row = page.get_by_role("row").filter(has_text="Console CRM")
    expect(row).to_contain_text("Set when added", timeout=WAIT_MS)
    page.get_by_role("button", name="Replace the secret of Console CRM").click()
    form = page.get_by_role("form", name="New secret for Console CRM")
    form.get_by_label("New signing secret (16+ characters, shown only now)").fill("the-second-secret-2")
    form.get_by_label("Hours the old secret keeps working").fill("12")
    form.get_by_role("button", name="Replace the secret").click()
    expect(row).to_contain_text("the old one works until", timeout=WAIT_MS)
    shot(page, "destination-secret-replaced")
    (hook,) = [d for d in ok(stack, "GET", "/destinations")["destinations"] if d["name"] == "Console CRM"]
    assert hook["previous_secret_until"] and "secret" not in hook
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Console CRM").click()
    expect(page.get_by_role("row").filter(has_text="Console CRM")).to_have_count(0, timeout=WAIT_MS)
    assert "Console CRM" not in [d["name"] for d in ok(stack, "GET", "/destinations")["destinations"]]


def test_a_segment_fills_a_meta_audience_and_its_page_shows_the_sync(page: Page, stack: LocalStack, graph: GraphStandIn) -> None:
    nav(page, "Destinations & settings")
    connect = page.get_by_role("form", name="Connect an ad account")
    connect.get_by_label("Account name in Tern").fill("Our Meta ads")
    connect.get_by_label("Ad account id (act_…)").fill("act_1234567890")
    connect.get_by_label("System user access token (shown only now)").fill("EAAB-a-wrong-token")
    connect.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert")).to_contain_text("Meta refused the access token", timeout=WAIT_MS)  # said before anything is kept
    connect.get_by_label("System user access token (shown only now)").fill(META_TOKEN)
    connect.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("row").filter(has_text="Our Meta ads")).to_contain_text("Tern test account", timeout=WAIT_MS)

    segment = live(stack, {"name": "Warsaw for ads", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]},
                            "refresh": {"every": 365, "unit": "days"}})  # fmt: skip
    page.goto(f"http://127.0.0.1:{stack.port}/#/segments/{segment['id']}")
    fill = page.get_by_role("form", name="Fill an ad audience")
    fill.get_by_label("Account").select_option(label="Our Meta ads (Meta)")
    fill.get_by_label("Only members with the consent").fill("profiling")
    fill.get_by_role("button", name="Fill an audience").click()
    row = page.get_by_role("row").filter(has_text="Our Meta ads")
    expect(row).to_contain_text("Synced", timeout=WAIT_MS)
    expect(row).to_contain_text("in the audience")
    (audience,) = ok(stack, "GET", f"/segments/{segment['id']}/audiences")["audiences"]
    assert (
        audience["last_sync"]["status"] == "done"
        and len(graph.members[audience["platform_audience_id"]]) == audience["last_sync"]["members"]
    )
    assert words_on(page) == []
    shot(page, "segment-ad-audience")


# What a marketer must never read: operator codes, JSON paths, pydantic's wording
CODES = re.compile(
    r"\b(eq|ne|gte?|lte?|has_any|has_all|has_none|not_within|days_ago|is_empty|is_not_empty|starts_with|not_in|sum:amount|distinct:\w+)\b"
    r"|\b(where|steps|all|any|branches)\[\d+\]|\b\w+_id\b|should have at least|Input should be|Field required|String should|Value error"
)


def words_on(page: Page) -> list[str]:
    """The page's words as a marketer reads them (not a JSON view, not an id column), with what matches CODES."""
    text = page.evaluate(
        """() => { const copy = document.body.cloneNode(true);
                   copy.querySelectorAll('textarea, pre, code, script, style, td.muted, datalist').forEach(e => e.remove());
                   return copy.innerText; }"""
    )
    return sorted({m.group(0) for m in CODES.finditer(text)})


def count_of(lake: Path, tmp_path: Path, where: dict[str, Any], now: dt.datetime | None = None) -> int:
    """The CLI's count of `where` over the lake (at `now`, the stack's clock, where windows depend on it)."""
    definition = tmp_path / "counted.json"
    definition.write_text(json.dumps({"name": "counted", "where": where}))
    at = ["--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")] if now else []
    done = subprocess.run([*TERN, "segment", "count", str(definition), "--data", str(lake), "--org", "acme", *at],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(json.loads(done.stdout)["nodes"][0]["count"])


def test_the_editor_knows_the_lakes_fields_types_and_values(page: Page, stack: LocalStack, lake: Path, tmp_path: Path) -> None:
    asked = athena_queries(stack)
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Criterion kind of 1").select_option("attribute")
    first = page.get_by_role("group", name="1: Attribute")
    first.get_by_label("Field", exact=True).select_option(label="Lead score")
    first.get_by_label("Comparison", exact=True).select_option(label="at least")
    first.get_by_label("Value", exact=True).fill("50")  # a number field takes 50 as a number: it counts at once
    expected = count_of(lake, tmp_path, {"kind": "attribute", "field": "lead_score", "op": "gte", "value": 50})
    expect(page.get_by_label("Total contacts")).to_have_text(f"{expected:,}", timeout=WAIT_MS)
    expect(first.get_by_text(re.compile(r"Contacts have lead score from \d+ to \d+"))).to_be_visible(timeout=WAIT_MS)

    first.get_by_label("Field", exact=True).select_option(label="City")
    cities = first.get_by_role("group", name="Common values of City")
    expect(cities).to_be_visible(timeout=WAIT_MS)
    chip = cities.get_by_role("button").first
    city, contacts = re.fullmatch(r"(.+) \(([\d,]+) contacts\)", str(chip.get_attribute("aria-label"))).groups()  # type: ignore[union-attr]
    chip.click()
    expect(first.get_by_label("Value", exact=True)).to_have_value(city)
    expect(page.get_by_label("Total contacts")).to_have_text(contacts, timeout=WAIT_MS)  # the chip's count is the count
    assert int(contacts.replace(",", "")) == count_of(lake, tmp_path, {"kind": "attribute", "field": "city", "op": "eq", "value": city})
    members = page.get_by_role("region", name="First members")
    expect(members.get_by_role("columnheader", name="Name")).to_be_visible()
    expect(members.locator("tbody tr").first).to_contain_text(city)  # people, with their city
    assert words_on(page) == []
    assert athena_queries(stack, since=asked) == {}  # fields, values and counts from the quick path: no Athena query while editing


def test_each_example_segment_starts_the_editor_with_the_clis_count(page: Page, stack: LocalStack, lake: Path, tmp_path: Path) -> None:
    examples = ok(stack, "GET", "/examples/segments")["examples"]
    assert {"Inactive for 60 days", "Impulsive buyers"} <= {e["name"] for e in examples} or len(examples) >= 6
    for example in examples:
        page.goto(f"http://127.0.0.1:{stack.port}/#/segments/new")
        page.get_by_role("group", name="Start from an example").get_by_role("button", name=example["name"], exact=True).click()
        expect(page.get_by_label("Name", exact=True)).to_have_value(example["name"])
        expected = count_of(lake, tmp_path, example["where"], stack.clock())
        expect(page.get_by_label("Total contacts")).to_have_text(f"{expected:,}", timeout=WAIT_MS)
        assert words_on(page) == [], example["name"]


def test_a_new_journey_with_one_email_publishes_as_it_opens_and_its_test_reaches_only_the_typed_address(
    page: Page, stack: LocalStack
) -> None:
    ok(stack, "PUT", "/settings/messages", {"postal_address": "Acme, ul. Długa 1, Warszawa", "language": "en", "topics": []})
    ok(stack, "POST", "/content", {"name": "Welcome", "channel": "email", "subject": "Welcome, {{first_name|friend}}",
                                   "body": "<p>Hello {{first_name}} in {{city|your city}}</p>", "status": "ready"})  # fmt: skip
    audience = next(s for s in ok(stack, "GET", "/segments")["segments"] if s["status"] == "live")
    new_journey(page, "Welcome aboard", audience["name"], first="Welcome")
    expect(page.get_by_role("group", name=re.compile("^Step email: "))).to_be_visible()

    # a test of the e-mail, rendered for a contact the marketer picks, to the marketer alone
    contact = stack_contact(stack)
    page.get_by_label("Selected step", exact=True).select_option("email")
    tester = page.get_by_role("group", name="Send a test")
    tester.get_by_label("Render it for contact (id)").fill(contact["contact_id"])
    tester.get_by_label(re.compile("^Send it to")).fill("me@acme.example")
    before = {p.name for p in (stack.data / "outbox").glob("*.eml")} if (stack.data / "outbox").is_dir() else set()
    tester.get_by_role("button", name="Send the test").click()
    wait_for(lambda: len({p.name for p in (stack.data / "outbox").glob("*.eml")} - before) >= 1, timeout=60, every=0.2, what="the test")
    new = [p for p in (stack.data / "outbox").glob("*.eml") if p.name not in before]
    import email as mail
    import email.policy

    messages = [mail.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in new]
    assert [str(m["To"]) for m in messages] == ["me@acme.example"]  # nobody else: not the contact
    assert str(messages[0]["Subject"]) == f"[Test] Welcome, {contact.get('first_name') or 'friend'}"

    # published as it opened: its entry, the e-mail, the end; no "Start here"
    expect(page.get_by_role("button", name="Start here")).to_have_count(0)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_visible(timeout=WAIT_MS)
    assert words_on(page) == []


def test_no_code_or_path_is_shown_where_a_marketer_looks(page: Page, stack: LocalStack) -> None:
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Criterion kind of 1").select_option("age")
    page.get_by_role("group", name="1: Age").get_by_label("From age", exact=True).fill("-5")  # a problem, shown in words
    expect(page.get_by_role("group", name="1: Age").get_by_role("alert")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("alert").last).to_be_visible(timeout=WAIT_MS)
    assert words_on(page) == []
    for where in ("#/", "#/lists", "#/journeys", "#/content", "#/sending", "#/settings"):
        page.goto(f"http://127.0.0.1:{stack.port}/{where}")
        page.wait_for_load_state("networkidle")
        assert words_on(page) == [], where
    segment = next(s for s in ok(stack, "GET", "/segments")["segments"] if s["status"] == "live")
    page.goto(f"http://127.0.0.1:{stack.port}/#/segments/{segment['id']}")
    expect(page.get_by_role("region", name="Evaluations")).to_be_visible(timeout=WAIT_MS)  # the history as a table
    expect(page.get_by_text("Ready for actions until")).to_be_visible()
    expect(page.get_by_role("columnheader", name="E-mail")).to_be_visible()
    assert words_on(page) == []
    journey = next(j for j in ok(stack, "GET", "/journeys")["journeys"] if j["name"] == "Unfinished")
    page.goto(f"http://127.0.0.1:{stack.port}/#/journeys/{journey['id']}")
    page.get_by_label("New step").select_option("send_email")  # no content chosen: publishing names what is missing
    page.get_by_role("button", name=re.compile("^Add step")).click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("group", name=re.compile("^Step email: "))).to_contain_text("Content: must not be empty", timeout=WAIT_MS)
    assert words_on(page) == []


def stack_contact(stack: LocalStack) -> dict[str, object]:
    from stack_client import lake_contacts

    return next(c for c in lake_contacts(stack).values() if c.get("first_name") and c.get("email"))


def build(page: Page, node: dict[str, Any], label: str) -> None:
    """Set the node labelled `label` to `node` through the editor's controls alone, as a marketer would."""
    if "kind" not in node:
        group = next(g for g in ("all", "any", "not") if g in node)
        page.get_by_label(f"Group type of {label}", exact=True).select_option(group)
        prefix = "" if label == "Segment" else f"{label}."
        for i, child in enumerate(node[group]):
            child_label = f"{prefix}{i + 1}"
            if page.get_by_label(f"Count of {child_label}", exact=True).count() == 0:
                page.get_by_role(
                    "button", name=f"Add a {'group' if 'kind' not in child and 'not' not in child else 'criterion'} to {label}"
                ).click()
            if "not" in child:
                build(page, child["not"], child_label)
                page.get_by_role("button", name=f"Negate {child_label}", exact=True).click()
            else:
                build(page, child, child_label)
        return
    page.get_by_label(f"Criterion kind of {label}", exact=True).select_option(node["kind"])
    box = page.get_by_role("group", name=re.compile(f"^{re.escape(label)}: "))

    def fill(name: str, value: object) -> None:
        box.get_by_label(name, exact=True).fill(str(value))

    def pick(name: str, value: object) -> None:
        box.get_by_label(name, exact=True).select_option(str(value))

    kind = node["kind"]
    if kind == "attribute":
        if node["field"].startswith("attributes."):
            pick("Field", "attributes.")
            fill("Custom attribute", node["field"].removeprefix("attributes."))
        else:
            pick("Field", node["field"])
        pick("Comparison", node["op"])
        fill("Value", node["value"])
    elif kind in ("tags", "categories", "consents"):
        pick("Operator", node["op"])
        fill("Values", ", ".join(node["values"]))
    elif kind == "age":
        fill("From age", node["min"])
        fill("To age", node["max"])
    elif kind == "gender":
        pick("Gender", node["value"])
    elif kind == "distance":
        fill("Latitude", node["lat"])
        fill("Longitude", node["lon"])
        fill("Within km", node["within_km"])
    elif kind == "recency":
        fill("Event types (empty: any)", ", ".join(node["event_types"]))
        pick("When", node["op"])
        fill("Days", node["days"])
    elif kind == "score_change":
        fill("Over the last days", node["days"])
        pick("Change", node["op"])
        fill("Points", node["value"])
        fill("Top (fastest risers)", node["top"])
    elif kind in ("activity", "lead_time"):
        if kind == "activity":
            fill("Event type", node["event_type"])
            pick("Compared", node.get("op", "gte"))
            fill("Times", node.get("value", 1))
            for i, (key, value) in enumerate(node.get("filters", {}).items()):
                box.get_by_role("button", name="+ filter").click()
                fill(f"Filter {i + 1} field", key)
                fill(f"Filter {i + 1} value", value)
        else:
            fill("At most days before the event", node["max_days"])
        window = node.get("window")
        pick("Window", next((k for k in ("last_days", "days_ago", "days_back") if window and k in window), ""))
        if window and "last_days" in window:
            fill("Days", window["last_days"])
        if window and "days_back" in window:
            fill("Days back, in days", window["days_back"])
        if window and "field" in window:
            fill("Date field", window["field"])
    else:
        raise AssertionError(f"no controls for {kind} in this test")


def test_each_example_segment_built_by_the_controls_alone_counts_what_the_cli_counts(
    page: Page, stack: LocalStack, lake: Path, tmp_path: Path
) -> None:
    for example in ok(stack, "GET", "/examples/segments")["examples"]:
        page.goto(f"http://127.0.0.1:{stack.port}/#/")
        page.get_by_role("link", name="New segment").click()  # a fresh editor for each
        page.get_by_label("Name", exact=True).fill(example["name"])
        build(page, example["where"], "Segment")
        counted = count_of(lake, tmp_path, example["where"], stack.clock())
        page.get_by_role("tab", name="JSON").click()  # what the controls built means what the example means
        built = json.loads(page.get_by_label("The definition's where (JSON)").input_value())
        page.get_by_role("tab", name="Builder").click()
        try:
            expect(page.get_by_label("Total contacts")).to_have_text(f"{counted:,}", timeout=WAIT_MS)
        except AssertionError as e:
            raise AssertionError(f"{example['name']}: the controls built {json.dumps(built)}") from e
        assert count_of(lake, tmp_path, built, stack.clock()) == counted, (example["name"], built)
