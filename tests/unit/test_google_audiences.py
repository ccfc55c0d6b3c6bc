"""The Data Manager API client for Google's Customer Match (tern.exports.google) against a stand-in that accepts exactly
the documented requests (tests/google_standin.py): connecting checks the refresh token and the account, a list is
made, members go in and out in requests of at most 10,000, throttling and Google's own failures are retried without
a member counted twice, an expired access token is renewed once, and what Google refuses is named in words."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from google_standin import GoogleStandIn
from tern.exports.google import GoogleAudiences, GoogleRefused, Outcome
from tern.exports.matching import Member, google_identifiers

ACCOUNT = "1234567890"
MANAGER = "9876543210"
CLIENT, SECRET = "tern-client.apps.googleusercontent.com", "s3cret"


@pytest.fixture
def google() -> Iterator[GoogleStandIn]:
    standin = GoogleStandIn(clients={CLIENT: SECRET}, refresh_tokens={"good"}, accounts={ACCOUNT, "5555555555"},
                            managers={MANAGER}, expired_refresh_tokens={"revoked"}, no_terms={"5555555555"})  # fmt: skip
    yield standin
    standin.stop()


def client(google: GoogleStandIn, refresh_token: str = "good", pauses: list[float] | None = None, customer_id: str = ACCOUNT,
           login_customer_id: str | None = None, clock: Callable[[], float] = time.monotonic) -> GoogleAudiences:  # fmt: skip
    return GoogleAudiences(CLIENT, SECRET, refresh_token, customer_id, login_customer_id, base_url=google.url, token_url=google.token_url,
                           sleep=(pauses if pauses is not None else []).append, jitter=lambda: 0.5, clock=clock)  # fmt: skip


def members(n: int, start: int = 0) -> list[list[dict[str, object]]]:
    made = [google_identifiers(Member(email=f"member{i}@example.com", phone=f"+48 600 {i:06d}", first_name="Anna",
                                      last_name="Nowak", postal_code="00-950", country="PL")) for i in range(start, start + n)]  # fmt: skip
    return [m for m in made if m]


def held(batch: list[list[dict[str, object]]]) -> set[frozenset[tuple[str, ...]]]:
    return {GoogleStandIn.member(identifiers) for identifiers in batch}


def api_calls(google: GoogleStandIn, path: str) -> list[dict[str, object]]:
    return [body for method, p, body, _ in google.calls if p == path]


def test_connecting_checks_the_refresh_token_and_the_account(google: GoogleStandIn) -> None:
    assert client(google).account() == "Google Ads 123-456-7890"
    (form,) = api_calls(google, "/token")
    assert form == {"grant_type": "refresh_token", "client_id": CLIENT, "client_secret": SECRET, "refresh_token": "good"}
    assert client(google, customer_id="123-456-7890").account() == "Google Ads 123-456-7890"  # dashes as Google Ads shows them
    with pytest.raises(GoogleRefused, match="refresh token: it has expired or was revoked; give the account new credentials") as refused:
        client(google, "revoked").account()
    assert refused.value.reasons == ("invalid_grant",) and refused.value.http_status == 400
    with pytest.raises(GoogleRefused, match="OAuth client: its id or secret is wrong"):
        GoogleAudiences(CLIENT, "wrong", "good", ACCOUNT, base_url=google.url, token_url=google.token_url).account()
    with pytest.raises(GoogleRefused, match="may not manage the audiences of Google Ads account 111-222-3333") as refused:
        client(google, customer_id="1112223333").account()
    assert refused.value.reasons == ("PERMISSION_DENIED",)
    with pytest.raises(ValueError, match="ten digits"):
        client(google, customer_id="12345")


def test_a_manager_account_is_logged_in_through(google: GoogleStandIn) -> None:
    google_ads = client(google, login_customer_id="987-654-3210")
    assert google_ads.account() == "Google Ads 123-456-7890"
    assert google.calls[-1][3]["login-account"] == f"accountTypes/GOOGLE_ADS/accounts/{MANAGER}"
    list_id = google_ads.create("Warsaw subscribers")
    google_ads.add(list_id, members(2))
    (ingest,) = api_calls(google, "/v1/audienceMembers:ingest")
    assert ingest["destinations"] == [{"operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": ACCOUNT},
                                       "loginAccount": {"accountType": "GOOGLE_ADS", "accountId": MANAGER},
                                       "productDestinationId": list_id}]  # fmt: skip
    with pytest.raises(GoogleRefused, match="may not manage"):
        client(google, login_customer_id="1231231231").account()


def test_members_go_in_and_come_out_of_a_new_list(google: GoogleStandIn) -> None:
    google_ads = client(google)
    list_id = google_ads.create("Warsaw subscribers", "kept in step by Tern")
    made = google.lists[list_id]["user_list"]
    assert made["displayName"] == "Warsaw subscribers" and made["ingestedUserListInfo"]["uploadKeyTypes"] == ["CONTACT_ID"]
    everyone = members(25_000)
    batches = [everyone[i : i + GoogleAudiences.batch_size] for i in range(0, len(everyone), GoogleAudiences.batch_size)]
    sent = [google_ads.add(list_id, batch) for batch in batches]
    assert [s.members for s in sent] == [10_000, 10_000, 5_000] and all(s.attempts == 1 and s.request_id for s in sent)
    assert google.members(list_id) == held(everyone)
    ingest = api_calls(google, "/v1/audienceMembers:ingest")[0]
    assert ingest["encoding"] == "HEX" and ingest["termsOfService"] == {"customerMatchTermsOfServiceStatus": "ACCEPTED"}
    assert ingest["consent"] == {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"}
    removed = google_ads.remove(list_id, everyone[:5_000])
    assert removed.members == 5_000 and google.members(list_id) == held(everyone[5_000:])
    emptied = google_ads.remove_all(list_id)
    assert emptied.request_id and google.members(list_id) == set()
    assert api_calls(google, "/v1/audienceMembers:removeAll") == [{"destinations": ingest["destinations"]}]
    assert google_ads.add(list_id, []) == type(sent[0])(0, 0, None)  # nothing to hand over: no request
    assert len(api_calls(google, "/token")) == 1  # one access token, cached for every call


def test_a_request_holds_what_google_takes(google: GoogleStandIn) -> None:
    google_ads = client(google)
    list_id = google_ads.create("Too many")
    calls = len(google.calls)
    with pytest.raises(ValueError, match="at most 10000 members"):
        google_ads.add(list_id, members(10_001))
    with pytest.raises(ValueError, match="11 identifiers"):
        google_ads.add(list_id, [[{"emailAddress": "a" * 64}] * 11])
    with pytest.raises(ValueError, match="0 identifiers"):
        google_ads.remove(list_id, [[]])
    with pytest.raises(ValueError, match="user list id is digits"):
        google_ads.remove_all("accountTypes/GOOGLE_ADS/accounts/1/userLists/2")
    assert len(google.calls) == calls


def test_throttling_and_failures_on_googles_side_are_waited_out_and_no_member_arrives_twice(google: GoogleStandIn) -> None:
    pauses: list[float] = []
    google_ads = client(google, pauses=pauses)
    list_id = google_ads.create("Clickers")
    google.fail_next = [429, 503]  # the per-minute quota, then Google unavailable
    sent = google_ads.add(list_id, members(3))
    assert sent.attempts == 3 and pauses == [2.0, 4.0]  # exponential backoff (the jitter at its middle)
    google.lose_next = [503]  # applied, but the answer lost: the same request again
    again = google_ads.add(list_id, members(3, start=3))
    assert again.attempts == 2 and google.members(list_id) == held(members(6))
    google.fail_next, google.retry_delay = [429], "7s"
    google_ads.remove(list_id, members(1))
    assert pauses[-1] == 7.0  # at least the RetryInfo's delay
    assert google.members(list_id) == held(members(5, start=1))


def test_throttling_that_will_not_pass_ends_the_sync(google: GoogleStandIn) -> None:
    pauses: list[float] = []
    google_ads = client(google, pauses=pauses)
    list_id = google_ads.create("Clickers")
    google.fail_next = [503] * 5
    with pytest.raises(GoogleRefused, match=r"failed on its side .*\(5 attempts\)") as refused:
        google_ads.add(list_id, members(1))
    assert refused.value.attempts == 5 and len(pauses) == 4
    google.daily_quota_spent = True
    calls = len(google.calls)
    with pytest.raises(GoogleRefused, match="daily request quota") as refused:
        google_ads.add(list_id, members(1))
    assert refused.value.reasons == ("RATE_LIMIT_EXCEEDED",) and len(google.calls) == calls + 1
    google.daily_quota_spent, google.fail_next, google.retry_delay = False, [429], "3600s"
    with pytest.raises(GoogleRefused, match="asked to wait 3600s"):
        google_ads.add(list_id, members(1))


def test_an_expired_access_token_is_renewed_once(google: GoogleStandIn) -> None:
    now = [0.0]
    google_ads = client(google, clock=lambda: now[0])
    list_id = google_ads.create("Renewed")
    google.expire_access_tokens()  # Google ended it early
    sent = google_ads.add(list_id, members(2))
    assert sent.attempts == 2 and len(api_calls(google, "/token")) == 2
    now[0] = 3599 - 30  # within a minute of the end Google gave it: a new one before the call
    google_ads.remove(list_id, members(1))
    assert len(api_calls(google, "/token")) == 3
    google.fail_next = [401, 401]
    with pytest.raises(GoogleRefused, match="access token even after renewing it") as refused:
        google_ads.remove(list_id, members(1))
    assert refused.value.reasons == ("ACCESS_TOKEN_EXPIRED",) and refused.value.attempts == 2


def test_a_bad_hash_refuses_the_whole_request_for_good(google: GoogleStandIn) -> None:
    google_ads = client(google)
    list_id = google_ads.create("Bad rows")
    batch = members(3)
    batch[1] = [{"emailAddress": "not-hashed@example.com"}]
    calls = len(google.calls)
    with pytest.raises(GoogleRefused, match=r"whole request: a member's identifiers are not SHA-256 hashed .*not hex encoded") as refused:
        google_ads.add(list_id, batch)
    assert refused.value.reasons == ("INVALID_HEX_ENCODING",) and len(google.calls) == calls + 1
    assert google.members(list_id) == set()  # fast fail: the good members did not go in either
    batch[1] = [{"emailAddress": "ab" * 16}]  # hex, but no SHA-256
    with pytest.raises(GoogleRefused, match="not SHA-256 hashed") as refused:
        google_ads.add(list_id, batch)
    assert refused.value.reasons == ("INVALID_SHA256_FORMAT",)


def test_what_google_refuses_for_an_account_or_a_list_is_named(google: GoogleStandIn) -> None:
    with pytest.raises(GoogleRefused, match="555-555-5555 has not accepted Customer Match's terms") as refused:
        no_terms = client(google, customer_id="5555555555")
        no_terms.add(no_terms.create("Terms"), members(1))
    assert refused.value.reasons == ("TERMS_AND_CONDITIONS_NOT_SIGNED",)
    google_ads = client(google)
    with pytest.raises(GoogleRefused, match="the user list does not exist in Google Ads account 123-456-7890"):
        google_ads.add("42", members(1))
    google_ads.create("Twice")
    with pytest.raises(GoogleRefused, match="already has a list of that name") as refused:
        google_ads.create("Twice")
    assert refused.value.reasons == ("DISPLAY_NAME_ALREADY_USED",)


def test_a_list_made_by_an_attempt_whose_answer_was_lost_is_found_not_made_again(google: GoogleStandIn) -> None:
    google.lose_next = [503]
    list_id = client(google).create("Lost answer")
    assert list(google.lists) == [list_id]


def test_the_outcome_reports_what_google_made_of_the_requests(google: GoogleStandIn) -> None:
    google_ads = client(google)
    list_id = google_ads.create("Outcome")
    first, second = google_ads.add(list_id, members(4)), google_ads.add(list_id, members(4, start=4))
    removed = google_ads.remove(list_id, members(1))
    ids = [s.request_id for s in (first, second, removed) if s.request_id]
    assert google_ads.outcome(ids) == Outcome(pending=0, matched="51-60%", errors={})
    google.processing = {ids[1]}
    google.processing_errors = {ids[0]: {"PROCESSING_ERROR_REASON_DENIED_CONSENT": 2}}
    assert google_ads.outcome(ids) == Outcome(pending=1, matched="51-60%", errors={"PROCESSING_ERROR_REASON_DENIED_CONSENT": 2})
    google.match_rate, google.processing, google.processing_errors = "MATCH_RATE_RANGE_71_TO_80", set(), {}
    assert google_ads.outcome(ids[:2]).matched == "71-80%"
    assert google_ads.outcome([]) == Outcome(0, None, {})
    with pytest.raises(GoogleRefused) as refused:
        google_ads.outcome(["never-sent"])
    assert refused.value.reasons == ("INVALID_REQUEST_ID",)
