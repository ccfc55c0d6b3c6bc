"""Members as the ad platforms match them (tern.exports.matching): each identifier normalised as the platform
documents, then SHA-256-hashed; checked against the platforms' own examples where they give them."""

from __future__ import annotations

import hashlib

from tern.exports.matching import META_SCHEMA, Member, google_identifiers, meta_row


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_metas_documented_examples_hash_alike() -> None:
    row = meta_row(Member(email="  Mary@Example.com ", phone="+1 (555) 987-6543"))
    assert row is not None
    by_key = dict(zip(META_SCHEMA, row, strict=True))
    # the values Meta's Custom Audiences guide shows for mary@example.com and the number 1-555-987-6543
    assert by_key["EMAIL"] == "f1904cf1a9d73a55fa5de0ac823c4403ded71afd4c3248d00bdcd0866552bb79"
    assert by_key["PHONE"] == "1ef970831d7963307784fa8688e8fce101a15685d62aa765fed23f3a2c576a4e"
    assert by_key["FN"] == by_key["CT"] == by_key["COUNTRY"] == ""  # none known: left empty, never a hash of ""


def test_meta_normalises_names_places_and_countries() -> None:
    row = meta_row(Member(email="a@b.pl", phone="600 100 200", first_name=" Zoë ", last_name="O'Brien-Nowak", city="Kraków",
                          postal_code="31 - 042", country="PL"))  # fmt: skip
    assert row is not None
    by_key = dict(zip(META_SCHEMA, row, strict=True))
    assert by_key["PHONE"] == h("48600100200")  # the contact's country gives the number its code
    assert (by_key["FN"], by_key["LN"], by_key["CT"]) == (h("zoë"), h("obriennowak"), h("krakow"))
    assert (by_key["ZIP"], by_key["COUNTRY"]) == (h("31-042"), h("pl"))
    us = meta_row(Member(email="x@y.com", postal_code="94043-1351", country="us"))
    assert us is not None and dict(zip(META_SCHEMA, us, strict=True))["ZIP"] == h("94043")  # a US code's first 5


def test_a_member_without_email_or_phone_is_not_sent() -> None:
    assert meta_row(Member(first_name="Anna", city="Warszawa", country="PL")) is None
    assert meta_row(Member(email="not an address", phone="12")) is None
    assert google_identifiers(Member(first_name="Anna", last_name="Nowak", country="PL")) == []  # no postal code: no address


def test_google_takes_one_identifier_each_and_the_address_whole() -> None:
    found = google_identifiers(Member(email=" Anna.Nowak@Example.com", phone="+48 600-100-200", first_name="Anna Maria",
                                      last_name="Nowak", postal_code=" 00-950", country="pl"))  # fmt: skip
    assert found == [
        {"emailAddress": h("anna.nowak@example.com")},  # dots kept: not a Gmail address
        {"phoneNumber": h("+48600100200")},  # E.164, with its +
        {"address": {"givenName": h("anna maria"), "familyName": h("nowak"), "regionCode": "PL", "postalCode": "00-950"}},
    ]
    gmail = google_identifiers(Member(email=" Anna.Nowak+shop@GoogleMail.com "))
    assert gmail == [{"emailAddress": h("annanowak@googlemail.com")}]  # Gmail ignores dots and what follows a +
