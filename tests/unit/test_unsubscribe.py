"""Recipients' links (tern.journeys.unsubscribe, tern.journeys.preferences) on in-memory fakes.

A token names one org's contact, consent and message, and nothing else can be made of it: altered in any byte,
read under another org's path, or made with another secret, it changes nothing. A first use withdraws the
consent at once (overlay, event, spent token); its replay after the contact gave the consent again changes
nothing. Each e-mail a journey sends carries its own link in the header and in the body.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_core_services import ANNA, NOW, World

from tern.errors import ContactStopped
from tern.journeys.caps import ConsentTopic, MessageSettings, OrgSettings
from tern.journeys.preferences import Preferences
from tern.journeys.tasks import StepRequest
from tern.journeys.unsubscribe import BadToken, Links, Signer, Unsubscribe, _b64, _unb64, held
from tern.store.overlay import ContactOverlay

from fakes import MemoryEvents, MemoryLakeFiles, MemoryTable

SECRET = b"a test key for unsubscribe links, 32+ bytes"
LINK = Unsubscribe("acme", "c1", "email_marketing", "j1", "announce", "j1#1#announce#c-c1", 1_795_000_000)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def preferences(clock: Clock | None = None) -> tuple[Preferences, MemoryTable, MemoryEvents]:
    table, events = MemoryTable(), MemoryEvents()
    return (
        Preferences(Signer(SECRET), table, ContactOverlay(MemoryLakeFiles(), table), events, OrgSettings(table), clock or Clock()),
        table,
        events,
    )  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------- tokens


def test_a_token_reads_back_as_the_link_it_was_made_for() -> None:
    token = Signer(SECRET).issue(LINK)
    assert Signer(SECRET).read("acme", token) == LINK
    assert len(token) < 400 and all(c.isalnum() or c in "-_." for c in token)  # fits a URL path as is


def test_another_orgs_path_another_secret_or_a_made_up_token_is_refused() -> None:
    token = Signer(SECRET).issue(LINK)
    with pytest.raises(BadToken):
        Signer(SECRET).read("globex", token)  # acme's token under globex's path: globex's key does not match
    with pytest.raises(BadToken):
        Signer(b"another stack's secret, also 32+ bytes").read("acme", token)
    for made_up in ("", ".", "abc", "abc.def", token.split(".")[0], "." + token.split(".")[1], token + "x"):
        with pytest.raises(BadToken):
            Signer(SECRET).read("acme", made_up)


def test_a_token_naming_another_org_is_refused_even_under_its_own_key() -> None:
    """Signed with acme's key but naming globex's contact: not a token Tern makes, so it is nobody's."""
    signer = Signer(SECRET)
    payload = json.dumps(dataclasses.asdict(dataclasses.replace(LINK, org_id="globex")), separators=(",", ":"), sort_keys=True).encode()
    forged = f"{_b64(payload)}.{_b64(hmac.new(signer._key('acme'), payload, hashlib.sha256).digest())}"
    with pytest.raises(BadToken):
        signer.read("acme", forged)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_a_token_altered_in_any_bit_is_refused(position: int, bit: int) -> None:
    token = Signer(SECRET).issue(LINK)
    payload_text, signature_text = token.split(".")
    raw = bytearray(_unb64(payload_text) + _unb64(signature_text))
    raw[position % len(raw)] ^= 1 << bit
    cut = len(_unb64(payload_text))
    altered = f"{_b64(bytes(raw[:cut]))}.{_b64(bytes(raw[cut:]))}"
    with pytest.raises(BadToken):
        Signer(SECRET).read("acme", altered)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Signer(b"short")


def test_the_link_is_the_public_url_with_org_and_token() -> None:
    url = Links(Signer(SECRET), "https://tern.example.com/").url(LINK)
    assert url.startswith("https://tern.example.com/u/acme/") and Signer(SECRET).read("acme", url.rsplit("/", 1)[1]) == LINK


# ----------------------------------------------------------------------------------------- withdrawing consent


def test_one_click_withdraws_the_consent_records_the_event_and_spends_the_token() -> None:
    prefs, table, events = preferences()
    token = Signer(SECRET).issue(LINK)
    done = prefs.unsubscribe("acme", token)
    assert done.outcome == "unsubscribed" and done.link == LINK
    assert prefs.overlay.consent("acme", "c1", "email_marketing") == "remove" and prefs.consent_given(LINK) is False
    action, row = events.rows
    assert (action["event_type"], action["journey_id"], action["step_id"]) == ("email_unsubscribed", "j1", "announce")
    assert (row["journey_id"], row["step_id"], row["outcome"], row["contact_id"]) == ("j1", "announce", "unsubscribed", "c1")
    assert table.get("ORG#acme#UNSUBSCRIBE", f"TOKEN#{LINK.digest}") is not None
    assert any(key.startswith("overlay/org_id=acme/unsubscribe-") for key in prefs.overlay.files.files)  # type: ignore[attr-defined] # segments see it


def test_a_repeated_click_changes_nothing_more() -> None:
    prefs, _, events = preferences()
    token = Signer(SECRET).issue(LINK)
    prefs.unsubscribe("acme", token)
    again = prefs.unsubscribe("acme", token)
    assert again.outcome == "already" and len(events.rows) == 2


def test_a_replay_after_the_contact_subscribed_again_does_not_undo_it() -> None:
    clock = Clock()
    prefs, _, _ = preferences(clock)
    token = Signer(SECRET).issue(LINK)
    prefs.unsubscribe("acme", token)
    clock.now = NOW + dt.timedelta(days=3)
    prefs.set_consent("acme", token, "email_marketing", True)  # the preference page's "receive again"
    clock.now = NOW + dt.timedelta(days=5)
    replay = prefs.unsubscribe("acme", token)  # the old message's one-click, posted again
    assert replay.outcome == "resubscribed_since" and replay.given_again == NOW + dt.timedelta(days=3)
    assert prefs.consent_given(LINK) is True


def test_a_fresh_message_after_subscribing_again_withdraws_again() -> None:
    clock = Clock()
    prefs, _, _ = preferences(clock)
    prefs.unsubscribe("acme", Signer(SECRET).issue(LINK))
    clock.now = NOW + dt.timedelta(days=1)
    prefs.set_consent("acme", Signer(SECRET).issue(LINK), "email_marketing", True)
    clock.now = NOW + dt.timedelta(days=2)
    later = dataclasses.replace(LINK, send="j1#1#announce#c-c1-2", issued=LINK.issued + 86_400)
    assert prefs.unsubscribe("acme", Signer(SECRET).issue(later)).outcome == "unsubscribed"
    assert prefs.consent_given(LINK) is False


def test_a_bad_token_changes_nothing() -> None:
    prefs, table, events = preferences()
    token = Signer(SECRET).issue(LINK)
    with pytest.raises(BadToken):
        prefs.unsubscribe("globex", token)
    with pytest.raises(BadToken):
        prefs.set_consent("acme", token[:-2] + "AA", "email_marketing", False)
    assert not table.items and not events.rows


# ------------------------------------------------------------------------------------------ the send's link


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_every_email_carries_one_click_headers_and_a_visible_link_of_its_own() -> None:
    world = World()
    world.steps.run(world.request("announce"))
    [sent] = world.email.sent
    header = sent["headers"]["List-Unsubscribe"]
    assert header.startswith("<https://tern.example.com/u/acme/") and header.endswith(">")
    assert sent["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header[1:-1]
    assert url in sent["html"]  # the content placed no link: a footer shows it
    link = world.steps.links.signer.read("acme", _token(url))
    assert (link.contact_id, link.consent, link.journey_id, link.step_id) == ("c1", "email_marketing", "j1", "announce")


def test_content_that_places_the_link_gets_no_footer_and_sms_gets_no_link() -> None:
    world = World()
    content = world.steps.content
    content.save(
        content.get("acme", "e1").model_copy(update={"body": "<p>News</p><a href='{{unsubscribe_url}}'>Leave</a>", "text": "News"})
    )
    world.steps.run(world.request("announce"))
    [sent] = world.email.sent
    url = sent["headers"]["List-Unsubscribe"][1:-1]
    assert sent["html"].count(url) == 1 and "Don't want these e-mails" not in sent["html"]
    assert url in sent["text"]  # the text part did not place it: its own footer shows it
    world.steps.run(world.request("text", token="t"))
    assert "/u/" not in world.sms.sent[0]["text"]


def test_after_one_click_the_contacts_next_send_in_another_journey_is_blocked() -> None:
    world = World()
    world.steps.run(world.request("announce"))
    url = world.email.sent[0]["headers"]["List-Unsubscribe"][1:-1]
    prefs = Preferences(world.steps.links.signer, world.table, world.overlay, world.events, OrgSettings(world.table), lambda: NOW)  # type: ignore[arg-type]
    assert prefs.unsubscribe("acme", _token(url)).outcome == "unsubscribed"
    world.journeys.create(world.journey.model_copy(update={"id": "j2", "name": "Another"}))
    request = StepRequest.model_validate({
        "step": "announce", "journey": {"org_id": "acme", "id": "j2", "version": 1}, "contact_id": "c1",
        "execution": "j2-c1", "run_id": "r2", "contact": ANNA, "token": None,
    })  # fmt: skip
    with pytest.raises(ContactStopped):
        world.steps.run(request)
    assert world.events.outcomes("c1")[-1] == ("announce", "blocked") and len(world.email.sent) == 1


def test_the_page_lists_the_orgs_topics_with_the_contacts_state() -> None:
    prefs, table, _ = preferences()
    OrgSettings(table).set_messages("acme", MessageSettings(postal_address="Acme, 1 Main St", topics=[
        ConsentTopic(consent="newsletter", names={"en": "Newsletter", "pl": "Biuletyn"}),
        ConsentTopic(consent="email_marketing", names={"en": "Offers"}),
    ]))  # fmt: skip
    link = dataclasses.replace(LINK, held=(held("email_marketing"),))
    token = Signer(SECRET).issue(link)
    assert [(t.consent, given) for t, given in prefs.topics(link)] == [("newsletter", False), ("email_marketing", True)]
    prefs.set_consent("acme", token, "newsletter", True)
    prefs.unsubscribe("acme", token)
    assert [(t.consent, given) for t, given in prefs.topics(link)] == [("newsletter", True), ("email_marketing", False)]


def test_a_token_carries_the_topics_the_contact_held_and_stays_within_the_header_limit() -> None:
    link = dataclasses.replace(LINK, org_id="o" * 64, journey_id="j" * 12, held=tuple(held(f"topic-{i}-" + "x" * 190) for i in range(20)))
    token = Signer(SECRET).issue(link)
    assert Signer(SECRET).read(link.org_id, token) == link
    url = Links(Signer(SECRET), "https://tern-console.example.com").url(link)
    assert len(f"<{url}>") < 870  # SES v2 refuses a header value longer than that


def test_only_the_one_spelling_of_a_token_reads() -> None:
    token = Signer(SECRET).issue(LINK)
    payload, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for other in alphabet:
        if other != signature[-1]:
            with pytest.raises(BadToken):
                Signer(SECRET).read("acme", f"{payload}.{signature[:-1]}{other}")


def test_an_sms_cannot_place_an_e_mails_link() -> None:
    from pydantic import ValidationError

    from tern.journeys.content import ContentDraft

    with pytest.raises(ValidationError, match="an SMS has no unsubscribe link"):
        ContentDraft(name="t", channel="sms", text="Leave: {{unsubscribe_url}}")


def test_a_failure_before_the_token_is_spent_leaves_it_usable() -> None:
    prefs, table, events = preferences()
    token = Signer(SECRET).issue(LINK)
    writes = prefs.events.write

    def failing(org_id: str, rows: list[dict[str, object]]) -> None:
        raise RuntimeError("the function timed out")

    prefs.events.write = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        prefs.unsubscribe("acme", token)
    assert table.get("ORG#acme#UNSUBSCRIBE", f"TOKEN#{LINK.digest}") is None  # not spent: the retry still works
    prefs.events.write = writes  # type: ignore[method-assign]
    assert prefs.unsubscribe("acme", token).outcome == "unsubscribed" and prefs.consent_given(LINK) is False


def test_transactional_content_carries_no_unsubscribe_and_needs_no_postal_address() -> None:
    world = World()
    content = world.steps.content
    content.save(content.get("acme", "e1").model_copy(update={"purpose": "transactional", "body": "<p>Your ticket</p>"}))
    world.steps.run(world.request("announce"))
    [sent] = world.email.sent
    assert sent["headers"] == {} and "/u/" not in (sent["html"] or "") and "Unsubscribe" not in (sent["html"] or "")
    from tern.journeys.content import ContentDraft
    from tern.journeys.model import JourneyDefinition
    from tern.journeys.validate import check_publishable

    definition = JourneyDefinition.model_validate({"name": "T", "start": "s", "entry": {"kind": "event", "event_type": "purchase"},
                                                   "steps": [{"id": "s", "kind": "send_email", "content_id": "e1"}]})  # fmt: skip
    ready = content.get("acme", "e1").model_copy(update={"status": "ready"})
    check_publishable(definition, lambda _: ready, lambda _: None, NOW, default_sender="news@example.com", postal_address=None)  # type: ignore[arg-type,return-value]
    with pytest.raises(Exception, match="postal address is not set"):
        check_publishable(definition, lambda _: ready.model_copy(update={"purpose": "marketing"}), lambda _: None, NOW,  # type: ignore[arg-type,return-value]
                          default_sender="news@example.com", postal_address=None)  # fmt: skip
    with pytest.raises(ValueError, match="no unsubscribe link"):
        ContentDraft(name="t", channel="email", subject="s", body="{{unsubscribe_url}}", purpose="transactional")
