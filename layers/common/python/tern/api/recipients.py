"""What a recipient reaches from a message: `/u/<org>/<token>`, public (no authorizer, no cookie, no login).

- POST with `List-Unsubscribe=One-Click` (RFC 8058: what a mailbox provider sends unattended when its user
  presses "unsubscribe"): the token's consent withdrawn at once, 200, no redirect;
- GET: the preference page: the consent's state and a button (a plain form: no JavaScript), which POSTs
  `action=unsubscribe` or `action=subscribe` back here.

The org comes from the path and the token alone (tern.journeys.unsubscribe), never from claims: a token that is
not this org's, altered or made up changes nothing and says so (400). Pages are the recipient's: plain words,
no codes; they are never cached, never framed, and send no Referer (the token is in the URL).
"""

from __future__ import annotations

import email
import email.policy
import html
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from tern.api.context import services
from tern.journeys.caps import ConsentTopic
from tern.journeys.preferences import Preferences, name_of
from tern.journeys.unsubscribe import BadToken, Unsubscribe
from tern.lake import ORG_ID
from tern.usecases.test_send import TEST_TOKEN

router = Router()
HTML = "text/html; charset=utf-8"
HEADERS = {
    "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}  # fmt: skip
PAGE = {"type": "string", "description": "an HTML page for the recipient"}
ANSWERS: dict[int, OpenAPIResponse] = {
    200: {"description": "The page", "content": {HTML: {"schema": PAGE}}},
    400: {"description": "Not a link of this organisation's: nothing changed", "content": {HTML: {"schema": PAGE}}},
}


def _preferences() -> Preferences:
    found = services(router).preferences
    assert found is not None, "the api function's services carry the preferences (tern.services.api_services)"
    return found


def _page(status: int, title: str, *paragraphs: str, form: str = "") -> Response[str]:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}}"
        "button{font:inherit;padding:.5rem 1rem;cursor:pointer}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}{form}</body></html>"
    )
    return Response(status, HTML, text, headers=dict(HEADERS))


def _button(action: str, label: str) -> str:
    return f'<form method="post"><input type="hidden" name="action" value="{action}"><button type="submit">{html.escape(label)}</button></form>'


def _topic(link: Unsubscribe) -> str:
    return html.escape(name_of(link.consent))


def _language(topics: list[tuple[ConsentTopic, bool]]) -> str:
    """The recipient's language (`?lang=`, else their browser's Accept-Language) among those the topics are named in."""
    event = router.current_event
    offered = {lang for topic, _ in topics for lang in topic.names}
    asked = [(event.query_string_parameters or {}).get("lang") or ""]
    asked += [part.split(";")[0].strip() for part in (event.headers.get("Accept-Language") or "").split(",")]  # headers: case-insensitive
    for lang in asked:
        if lang in offered:
            return lang
        if lang[:2] in offered:
            return lang[:2]
    return ""


def _name(topic: ConsentTopic, lang: str, default: str) -> str:
    return topic.names.get(lang) or topic.names.get(default) or next(iter(topic.names.values()))


def _preferences_page(link: Unsubscribe, title: str, said: str) -> Response[str]:
    """The page: each of the org's e-mail topics with a switch (checkbox), "save", and "unsubscribe from all"; plain
    forms, no JavaScript."""
    prefs = _preferences()
    topics = prefs.topics(link)
    settings = prefs.settings.messages(link.org_id)
    lang = _language(topics) or settings.language
    rows = "".join(
        f'<p><label><input type="checkbox" name="topic" value="{html.escape(t.consent, quote=True)}"{" checked" if given else ""}> '
        f"{html.escape(_name(t, lang, settings.language))}</label>"
        + (f'<br><small>{html.escape(t.descriptions.get(lang) or t.descriptions.get(settings.language) or "")}</small>' if t.descriptions else "")
        + "</p>"
        for t, given in topics
    )  # fmt: skip
    forms = (f'<form method="post"><input type="hidden" name="action" value="save">{rows}<button type="submit">Save my choices</button></form>'
             '<form method="post" style="margin-top:1rem"><input type="hidden" name="action" value="unsubscribe_all">'
             '<button type="submit">Unsubscribe from all</button></form>')  # fmt: skip
    footer = (
        f'<p style="color:#666;font-size:14px">{html.escape(settings.postal_address).replace(chr(10), "<br>")}</p>'
        if settings.postal_address
        else ""
    )
    return _page(200, title, said, form=forms + footer)


def _invalid() -> Response[str]:
    return _page(
        400,
        "This link is not valid",
        "Nothing was changed. If you copied the link from an e-mail, check that it is complete, or use the link in a newer e-mail.",
    )


def _link(org: str, token: str) -> Unsubscribe | None:
    if not ORG_ID.fullmatch(org) or len(token) > 2000:
        return None
    try:
        return _preferences().read(org, token)
    except BadToken:
        return None


def _test_message() -> Response[str]:
    return _page(200, "This was a test message", "In the real message, this link opens the recipient's choices. Nothing was changed.")


@router.get("/u/<org>/<token>", responses=ANSWERS, summary="The recipient's preference page")
def preference_page(org: str, token: str) -> Response[str]:
    if token == TEST_TOKEN:
        return _test_message()
    link = _link(org, token)
    if link is None:
        return _invalid()
    if not _preferences().consent_given(link):
        return _preferences_page(
            link, "You are unsubscribed", f"You no longer receive {_topic(link)} from us. Choose what you want to receive:"
        )
    return _preferences_page(link, "Your e-mail preferences", "Choose what you want to receive from us:")


def _form() -> dict[str, list[str]]:
    """The POST's fields: RFC 8058's one-click comes as multipart/form-data (what the RFC asks providers to send) or
    form-encoded; the page's own forms are form-encoded."""
    event = router.current_event
    body = event.decoded_body or ""
    if len(body) > 10_000:
        return {}
    kind = event.headers.get("Content-Type") or ""
    if not kind.lower().startswith("multipart/form-data"):
        return parse_qs(body, keep_blank_values=True)
    message = email.message_from_string(f"Content-Type: {kind}\r\n\r\n{body}", policy=email.policy.HTTP)
    found: dict[str, list[str]] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            found.setdefault(name, []).append(str(part.get_payload(decode=False)).strip())
    return found


@router.post("/u/<org>/<token>", responses=ANSWERS, summary="One-click unsubscribe (RFC 8058), or the preference page's buttons")
def unsubscribe(org: str, token: str) -> Response[str]:
    if token == TEST_TOKEN:
        return _test_message()
    link = _link(org, token)
    if link is None:
        return _invalid()
    prefs = _preferences()
    form = _form()
    action = (form.get("action") or [""])[0]
    if action == "subscribe":
        prefs.set_consent(org, token, link.consent, True)
        return _preferences_page(link, "You are subscribed again", f"You will receive {_topic(link)} from us again.")
    if action in ("save", "unsubscribe_all"):
        wanted = set(form.get("topic") or []) if action == "save" else set()
        for topic, given in prefs.topics(link):  # "from all" withdraws each, whatever the page believed of it
            if (topic.consent in wanted) != given or action == "unsubscribe_all":
                prefs.set_consent(org, token, topic.consent, topic.consent in wanted)
        said = "Your choices are saved." if action == "save" else "You are unsubscribed from all our e-mails."
        return _preferences_page(link, "Your e-mail preferences", said)
    if action != "unsubscribe" and form.get("List-Unsubscribe") != ["One-Click"]:
        return _page(
            400, "Nothing was changed", "This request did not say what to change. Open the link from your e-mail to see your preferences."
        )
    done = prefs.unsubscribe(org, token)
    named = _topic(done.link)
    if done.outcome == "resubscribed_since" and done.given_again is not None:
        if action != "unsubscribe":  # the same message's one-click again: it does not undo a later change of mind
            return _page(200, "You are subscribed", f"This link was already used on {done.at:%d %B %Y}, and you chose to receive {named} "
                         f"again on {done.given_again:%d %B %Y}, so nothing was changed.", form=_button("unsubscribe", f"Unsubscribe from {named}"))  # fmt: skip
        prefs.set_consent(org, token, done.link.consent, False)  # the recipient, on the page, chose again
    return _page(
        200, "You are unsubscribed", f"You will no longer receive {named} from us.", form=_button("subscribe", f"Receive {named} again")
    )
