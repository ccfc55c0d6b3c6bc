"""Unsubscribe links: a signed token per message naming whom it lets withdraw which consent.

Every marketing e-mail carries one link of Tern's, in its `List-Unsubscribe` header (RFC 8058's one-click POST)
and in its body (`{{unsubscribe_url}}`, `{{preferences_url}}`: the page a recipient opens):

    <public URL>/u/<org>/<token>        token = base64url(payload) "." base64url(HMAC-SHA256(org key, payload))

The payload names the org, the contact, the consent the message was sent under, the journey, step and send it
came from, and when it was issued. The org key is HMAC(the stack's secret, org): a token works only under its
own org's path, and one altered in any byte, or made up, matches no signature. It needs no login and no cookie
(mailbox providers POST it unattended), and it is unguessable: 256 bits of HMAC.

A token is spent when it first withdraws its consent: it is remembered (TOKEN#<digest>, with when it was used),
so a repeated POST of the same message (a provider retrying, a forwarded copy) never undoes a later change of
mind: after the contact gave the consent again, the old message's token answers that it was already used and
withdraws nothing. A fresh message carries a fresh token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

from tern.errors import TernError


class BadToken(TernError):
    """A link that is not one of this org's (altered, made up, another org's): nothing changes."""


@dataclass(frozen=True)
class Unsubscribe:
    org_id: str
    contact_id: str
    consent: str  # the consent the message was sent under, which one click withdraws
    journey_id: str
    step_id: str
    send: str  # the send it came from (journey, version, step, execution): names the message
    issued: int  # Unix seconds
    held: tuple[str, ...] = ()  # the org's topics the contact held as the message went (`held(consent)` each): the page's state

    @property
    def digest(self) -> str:
        """What names this token in the table (its payload's digest; the token itself is never stored)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:40]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    """Strict: only the one spelling Tern writes decodes (base64 would take other final characters for the same bytes)."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not the canonical spelling")
    return data


def held(consent: str) -> str:
    """A consent as a token carries it: 6 hex characters of its digest (20 topics fit any header)."""
    return hashlib.sha256(consent.encode()).hexdigest()[:6]


class Signer:
    """Issues and reads tokens with the stack's secret (in Secrets Manager; read once at cold start)."""

    def __init__(self, secret: bytes):
        if len(secret) < 32:
            raise ValueError("the unsubscribe secret must be at least 32 bytes")
        self._secret = secret

    def _key(self, org_id: str) -> bytes:
        return hmac.new(self._secret, f"tern-unsubscribe\n{org_id}".encode(), hashlib.sha256).digest()

    def issue(self, link: Unsubscribe) -> str:
        payload = json.dumps(asdict(link), separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(payload)}.{_b64(hmac.new(self._key(link.org_id), payload, hashlib.sha256).digest())}"

    def read(self, org_id: str, token: str) -> Unsubscribe:
        """The token's link, if it is this org's and unaltered; BadToken otherwise (saying no more than that)."""
        payload_text, _, signature_text = token.partition(".")
        try:
            payload, signature = _unb64(payload_text), _unb64(signature_text)
        except (binascii.Error, ValueError):
            raise BadToken("this link is not valid") from None
        if not hmac.compare_digest(signature, hmac.new(self._key(org_id), payload, hashlib.sha256).digest()):
            raise BadToken("this link is not valid")
        try:
            fields = json.loads(payload)
            link = Unsubscribe(**{**fields, "held": tuple(fields.get("held") or ())})
        except (ValueError, TypeError, AttributeError):
            raise BadToken("this link is not valid") from None
        if link.org_id != org_id:  # signed with this org's key but naming another: not one Tern made
            raise BadToken("this link is not valid")
        return link


def link_url(public_url: str, link: Unsubscribe, token: str) -> str:
    return f"{public_url.rstrip('/')}/u/{link.org_id}/{token}"


@dataclass(frozen=True)
class Links:
    """What a send needs to give its message a link: the signer and the public URL the stack answers on."""

    signer: Signer
    public_url: str

    def url(self, link: Unsubscribe) -> str:
        return link_url(self.public_url, link, self.signer.issue(link))
