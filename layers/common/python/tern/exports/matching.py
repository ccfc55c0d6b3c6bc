"""Members as the ad platforms match them: each identifier normalised exactly as the platform documents, then
SHA-256-hashed (lowercase hex), so that nothing but hashes leaves Tern (issue 30).

Meta's customer-file custom audiences (Marketing API, "Custom Audiences" guide, hashing and normalisation table):
- EMAIL: trimmed, lowercase; PHONE: digits only, with the country code, no leading zeros (E.164 without the '+');
- FN, LN: lowercase, no punctuation, UTF-8 letters kept; CT: lowercase letters only, no spaces or punctuation;
- ZIP: lowercase, no spaces (a US code's first 5 digits); COUNTRY: ISO 3166-1 alpha-2, lowercase; all hashed.

Google's Customer Match through the Data Manager API (its UserIdentifier, and the "Format user data" guide; since
2026-04-01 the Google Ads API's offline user data jobs refuse developer tokens new to Customer Match):
- emailAddress: lowercase, no whitespace; a gmail.com or googlemail.com address without the dots of its local part
  and anything from a '+' on; phoneNumber: E.164 with its '+';
- address: givenName and familyName lowercase, trimmed, without punctuation, hashed; regionCode (alpha-2) and
  postalCode as they are, not hashed. Hashes are hex (the request's `encoding` HEX).

A value that normalises to nothing is left out (Meta's rows then carry "" for it); a member with no identifier a
platform matches on is not sent to it at all.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tern.exports.files import normal_email, normal_phone, sha256  # sha256: "" for no value, as a Meta row wants

META_SCHEMA = ["EMAIL", "PHONE", "FN", "LN", "CT", "ZIP", "COUNTRY"]
_SPACES = re.compile(r"\s+")


def _letters(text: str | None, keep_spaces: bool = False) -> str:
    """Lowercase, punctuation and symbols dropped (letters of any script and digits kept), NFC."""
    lowered = unicodedata.normalize("NFC", (text or "").strip().lower())
    kept = "".join(ch for ch in lowered if ch.isalnum() or (keep_spaces and ch.isspace()))
    return _SPACES.sub(" ", kept).strip()


def _city(text: str | None) -> str:
    """Meta's CT: lowercase a-z only (a city's accents folded: "Kraków" -> "krakow"), no spaces or punctuation."""
    folded = unicodedata.normalize("NFKD", (text or "").lower())
    return "".join(ch for ch in folded if "a" <= ch <= "z")


def _zip(postal: str | None, country: str | None) -> str:
    text = re.sub(r"\s+", "", (postal or "").lower())
    return text[:5] if _country(country) == "us" else text


def _country(country: str | None) -> str:
    text = (country or "").strip().lower()
    return text if re.fullmatch(r"[a-z]{2}", text) else ""


@dataclass(frozen=True)
class Member:
    """What a contact offers the platforms to match on, as the lake holds it."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


def meta_row(member: Member) -> list[str] | None:
    """The member's row under META_SCHEMA (each value hashed, "" where it has none), or None when it has neither an
    e-mail nor a phone (Meta matches names and places only alongside one of them)."""
    email = normal_email(member.email)
    phone = normal_phone(member.phone, member.country)
    if email is None and phone is None:
        return None
    values = [email or "", phone or "", _letters(member.first_name), _letters(member.last_name), _city(member.city),
              _zip(member.postal_code, member.country), _country(member.country)]  # fmt: skip
    return [sha256(v) for v in values]


def google_email(email: str | None) -> str | None:
    text = normal_email(_SPACES.sub("", email or ""))
    if text is None:
        return None
    local, _, domain = text.rpartition("@")
    if domain in ("gmail.com", "googlemail.com"):
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}" if local else None


def google_identifiers(member: Member) -> list[dict[str, object]]:
    """The member's userIdentifiers, one identifier each (Data Manager takes at most 10 a member); [] when it has none."""
    found: list[dict[str, object]] = []
    email = google_email(member.email)
    if email:
        found.append({"emailAddress": sha256(email)})
    phone = normal_phone(member.phone, member.country)
    if phone:
        found.append({"phoneNumber": sha256("+" + phone)})
    first, last, country = _letters(member.first_name, keep_spaces=True), _letters(member.last_name), _country(member.country)
    postal = (member.postal_code or "").strip()  # as the country writes it ("SW1A 1AA"): Google documents no other form
    if first and last and country and postal:  # an address matches only whole: names, country and postal code
        found.append({"address": {"givenName": sha256(first), "familyName": sha256(last), "regionCode": country.upper(),
                                  "postalCode": postal}})  # fmt: skip
    return found
