"""A realistic demo lake: contacts and their events, in the data contract, as Hive-partitioned Parquet.

Activity is skewed (a few contacts do most things, some went quiet long ago, some never did anything),
e-mail campaigns leave sends, deliveries, opens, clicks on a few links and hard and soft bounces,
ticket sales belong to shows of productions (some shows still to come), lead scores move, and
contacts carry the nulls real data has. Every criterion kind has matches and non-matches.

Vectorised with numpy and pyarrow, one file per day, so a million contacts with twenty events each
take well under two minutes on two cores.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tern.parquet import CONTACTS_SCHEMA, EVENTS_SCHEMA

CITIES = [  # name, postal prefix, country, language, lat, lon, weight
    ("Warszawa", "00", "PL", "pl", 52.2297, 21.0122, 0.26),
    ("Kraków", "30", "PL", "pl", 50.0647, 19.9450, 0.14),
    ("Gdańsk", "80", "PL", "pl", 54.3520, 18.6466, 0.08),
    ("Wrocław", "50", "PL", "pl", 51.1079, 17.0385, 0.09),
    ("Poznań", "60", "PL", "pl", 52.4064, 16.9252, 0.07),
    ("Łódź", "90", "PL", "pl", 51.7592, 19.4560, 0.06),
    ("Berlin", "10", "DE", "de", 52.5200, 13.4050, 0.10),
    ("Praha", "11", "CZ", "cs", 50.0755, 14.4378, 0.06),
    ("Wien", "10", "AT", "de", 48.2082, 16.3738, 0.05),
    ("London", "EC", "GB", "en", 51.5072, -0.1276, 0.09),
]
ZONES = {"PL": "Europe/Warsaw", "DE": "Europe/Berlin", "CZ": "Europe/Prague", "AT": "Europe/Vienna", "GB": "Europe/London"}
FEMALE_NAMES = ["Anna", "Maria", "Katarzyna", "Zofia", "Julia", "Hanna", "Emma", "Olivia", "Lena", "Eva"]
MALE_NAMES = ["Piotr", "Jan", "Tomasz", "Paweł", "Jakub", "Adam", "Lukas", "Oliver", "Max", "Marek"]
LAST_NAMES = ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Müller", "Schmidt", "Novák", "Smith", "O'Brien", "Kamińska"]
TAGS = ["vip", "newsletter", "season_ticket", "student", "family", "press", "donor", "corporate"]
CATEGORIES = ["theatre", "opera", "concert", "ballet", "kids", "jazz"]
LEAD_STAGES = ["new", "marketing_qualified", "sales_qualified", "customer"]
OPPORTUNITY_STAGES = ["prospecting", "proposal", "negotiation", "won", "lost"]
OWNERS = ["ewa.k", "marek.z", "john.d", "greta.s", "tomas.b"]
TIERS = ["bronze", "silver", "gold"]
GENRES = ["drama", "comedy", "musical", "classical", "jazz"]
PRODUCTIONS = [("hamlet", 120.0), ("carmen", 180.0), ("swan-lake", 150.0), ("nutcracker", 90.0),
               ("jazz-night", 60.0), ("magic-flute", 160.0), ("cabaret", 110.0), ("kids-circus", 40.0)]  # fmt: skip
PAGES = ["https://shop.example.com/", "https://shop.example.com/new", "https://shop.example.com/season",
         "https://shop.example.com/opera", "https://shop.example.com/kids", "https://shop.example.com/gift-cards"]  # fmt: skip
SEARCHES = ["hamlet tickets", "opera", "gift card", "parking", "nutcracker", "student discount", "jazz"]
DOWNLOADS = ["https://shop.example.com/season-brochure.pdf", "https://shop.example.com/seat-map.pdf"]
FORMS = ["https://shop.example.com/contact", "https://shop.example.com/newsletter"]
CAMPAIGN_LINKS = ["https://shop.example.com/new", "https://shop.example.com/season", "https://shop.example.com/unsubscribe"]
SCORE_STEPS = np.array([-15, -10, -5, 5, 10, 15, 20, 30])
JOURNEY_OUTCOMES = ["processed", "sent", "clicked", "bounced", "stopped", "blocked", "exited"]


def _strings(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def _pick(rng: np.random.Generator, values: list[str], n: int, p: list[float] | None = None) -> pa.Array:
    return _strings(values).take(pa.array(rng.choice(len(values), size=n, p=p)))


def _with_nulls(rng: np.random.Generator, array: pa.Array, share: float) -> pa.Array:
    if share <= 0:
        return array
    mask = pa.array(rng.random(len(array)) < share)
    return pc.if_else(mask, pa.scalar(None, array.type), array)


def _lists(rng: np.random.Generator, pool: list[str], n: int, probabilities: list[float]) -> pa.Array:
    """A list column: each pool value present with its own probability."""
    present = rng.random((n, len(pool))) < np.array(probabilities)
    counts = present.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = _strings(pool).take(pa.array(np.nonzero(present)[1]))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("int64") * 1_000_000, pa.int64()).cast(pa.timestamp("us"))


@dataclass(frozen=True)
class Population:
    """What the event generator needs to know of the contacts."""

    ids: pa.Array
    cdf: np.ndarray  # cumulative activity weights, for sampling who acts
    quiet_from: np.ndarray  # epoch day from which the contact does nothing any more
    bouncy: np.ndarray
    impulsive: np.ndarray
    riser: np.ndarray


def generate_contacts(rng: np.random.Generator, n: int, now: dt.datetime) -> tuple[pa.Table, Population]:
    ids = pc.binary_join_element_wise("c", pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), 7, "0"), "")
    gender_draw = rng.random(n)
    gender = pa.array(np.where(gender_draw < 0.46, "female", np.where(gender_draw < 0.90, "male", None)))  # type: ignore[call-overload]
    first = pc.if_else(pa.array(gender_draw < 0.46), _pick(rng, FEMALE_NAMES, n), _pick(rng, MALE_NAMES, n))
    last = _pick(rng, LAST_NAMES, n)
    domains = _pick(rng, ["example.com", "mail.example.org", "post.example.net"], n, [0.5, 0.3, 0.2])
    local_part = pc.utf8_lower(pc.binary_join_element_wise(first, ".", pc.replace_substring(last, "'", ""), ""))
    email = pc.binary_join_element_wise(pc.binary_join_element_wise(local_part, ids, "."), domains, "@")
    phone_digits = pc.cast(pa.array(rng.integers(500_000_000, 899_999_999, n)), pa.string())
    phone = _with_nulls(rng, pc.binary_join_element_wise("+48", phone_digits, ""), 0.4)

    city_index = rng.choice(len(CITIES), size=n, p=[c[6] for c in CITIES])
    no_city = rng.random(n) < 0.08
    no_point = no_city | (rng.random(n) < 0.03)
    column = lambda i: np.array([c[i] for c in CITIES], dtype=object)[city_index]  # noqa: E731
    city = pa.array(np.where(no_city, None, column(0)))  # type: ignore[call-overload]
    postal = pa.array(np.where(no_city, None, column(1) + "-" + rng.integers(100, 999, n).astype(str)))  # type: ignore[call-overload]
    country = pa.array(np.where(no_city & (rng.random(n) < 0.5), None, column(2)))  # type: ignore[call-overload]
    language = _with_nulls(rng, pa.array(column(3).astype(str)), 0.05)
    lat = np.array([c[4] for c in CITIES])[city_index] + rng.normal(0, 0.06, n)
    lon = np.array([c[5] for c in CITIES])[city_index] + rng.normal(0, 0.09, n)
    latitude = pa.array(np.where(no_point, np.nan, lat), from_pandas=True)
    longitude = pa.array(np.where(no_point, np.nan, lon), from_pandas=True)

    today = now.date()
    ages_days = (rng.gamma(6.0, 7.0, n) + 16) * 365.25
    birth = pa.array(np.datetime64(today, "D") - ages_days.astype("int64"), pa.date32())
    birth = _with_nulls(rng, birth, 0.15)
    lead_score = _with_nulls(rng, pa.array(np.minimum(rng.gamma(1.6, 12.0, n), 100).astype("int64")), 0.05)
    lead_stage = _with_nulls(rng, _pick(rng, LEAD_STAGES, n, [0.5, 0.25, 0.15, 0.10]), 0.1)
    opportunity = _with_nulls(rng, _pick(rng, OPPORTUNITY_STAGES, n), 0.7)
    owner = _with_nulls(rng, _pick(rng, OWNERS, n), 0.4)
    subscriber = _with_nulls(rng, pa.array(rng.random(n) < 0.6), 0.02)
    tags = _lists(rng, TAGS, n, [0.05, 0.45, 0.08, 0.12, 0.15, 0.01, 0.03, 0.04])
    categories = _lists(rng, CATEGORIES, n, [0.3, 0.15, 0.1, 0.08, 0.12, 0.07])
    consents = _lists(rng, ["email_marketing", "sms_marketing", "profiling"], n, [0.7, 0.4, 0.3])

    has = rng.random((n, 3)) < np.array([0.5, 0.6, 0.4])
    keys = np.array(["loyalty_tier", "points", "favourite_genre"], dtype=object)
    tier = np.array(TIERS, dtype=object)[rng.choice(3, n, p=[0.6, 0.3, 0.1])]
    points = rng.integers(0, 5000, n).astype(str).astype(object)
    genre = np.array(GENRES, dtype=object)[rng.integers(0, len(GENRES), n)]
    rows, cols = np.nonzero(has)
    items = np.stack([tier, points, genre], axis=1)[rows, cols]
    offsets = np.concatenate([[0], np.cumsum(has.sum(axis=1))]).astype(np.int32)
    attributes = pa.MapArray.from_arrays(pa.array(offsets), pa.array(keys[cols], pa.string()), pa.array(items, pa.string()))

    now_s = int(now.replace(tzinfo=dt.UTC).timestamp())
    created = now_s - rng.integers(0, 5 * 365 * 86400, n)
    updated = created + ((now_s - created) * rng.random(n)).astype("int64")

    table = pa.Table.from_arrays(
        [
            ids,
            email,
            phone,
            first,
            last,
            gender,
            birth,
            city,
            postal,
            country,
            latitude,
            longitude,
            language,
            lead_score,
            lead_stage,
            opportunity,
            owner,
            subscriber,
            tags,
            categories,
            consents,
            attributes,
            _timestamps(created),
            _timestamps(updated),
            pa.array([ZONES.get(c) for c in country.to_pylist()], pa.string()),
        ],  # fmt: skip
        schema=CONTACTS_SCHEMA,
    )

    weights = rng.lognormal(0.0, 1.1, n)
    weights[rng.random(n) < 0.08] = 0.0  # never did anything
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    today_day = (today - dt.date(1970, 1, 1)).days
    quiet_from = np.where(rng.random(n) < 0.2, today_day - rng.integers(0, 365, n), today_day + 10_000)
    population = Population(
        ids=ids,
        cdf=cdf,
        quiet_from=quiet_from,
        bouncy=rng.random(n) < 0.03,
        impulsive=rng.random(n) < 0.15,
        riser=rng.random(n) < 0.1,
    )
    return table, population


class _Day:
    """One day's events, built a block (one kind of behaviour) at a time."""

    def __init__(self, rng: np.random.Generator, population: Population, day: dt.date, first_event: int):
        self.rng = rng
        self.population = population
        self.day = day
        self.day_start = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
        self.day_number = (day - dt.date(1970, 1, 1)).days
        self.next_event = first_event
        self.blocks: list[pa.Table] = []

    def who(self, n: int) -> np.ndarray:
        """n contacts drawn by activity; those gone quiet by this day are dropped."""
        picked = np.searchsorted(self.population.cdf, self.rng.random(n), side="right")
        picked = np.minimum(picked, len(self.population.cdf) - 1)
        return picked[self.population.quiet_from[picked] > self.day_number]

    def seconds(self, n: int, earliest: int = 7 * 3600) -> np.ndarray:
        return self.day_start + self.rng.integers(earliest, 86400 - 3 * 3600, n)

    def add(self, who: np.ndarray, event_type: str, ts: np.ndarray, **columns: Any) -> None:
        n = len(who)
        if n == 0:
            return
        ids = pc.binary_join_element_wise("e", pc.cast(pa.array(np.arange(self.next_event, self.next_event + n)), pa.string()), "")
        self.next_event += n
        given = {
            "event_id": ids,
            "contact_id": self.population.ids.take(pa.array(who)),
            "event_type": pa.array(np.full(n, event_type, dtype=object), pa.string()),
            "ts": _timestamps(np.minimum(ts, self.day_start + 86399)),
            **columns,
        }
        arrays = []
        for field in EVENTS_SCHEMA:
            value = given.get(field.name)
            if value is None:
                arrays.append(pa.nulls(n, field.type))
            elif isinstance(value, (str, int, float)):
                arrays.append(pa.array(np.full(n, value), field.type) if not isinstance(value, str) else pa.array([value] * n, field.type))
            else:
                arrays.append(pa.array(value, field.type) if not isinstance(value, pa.Array) else value.cast(field.type))
        self.blocks.append(pa.Table.from_arrays(arrays, schema=EVENTS_SCHEMA))

    def table(self) -> pa.Table:
        return pa.concat_tables(self.blocks) if self.blocks else EVENTS_SCHEMA.empty_table()


def _page_properties(rng: np.random.Generator, n: int) -> pa.Array:
    """{"device": ..., "referrer": ...} for each page view."""
    device = np.array(["mobile", "desktop", "tablet"], dtype=object)[rng.choice(3, n, p=[0.6, 0.35, 0.05])]
    referrer = np.array(["google", "newsletter", "direct", "facebook"], dtype=object)[rng.integers(0, 4, n)]
    items = np.empty(2 * n, dtype=object)
    items[0::2], items[1::2] = device, referrer
    keys = pa.array(np.tile(np.array(["device", "referrer"], dtype=object), n), pa.string())
    return pa.MapArray.from_arrays(pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)), keys, pa.array(items, pa.string()))


def generate_day(rng: np.random.Generator, population: Population, day: dt.date, size: int, first_event: int) -> _Day:
    d = _Day(rng, population, day, first_event)
    pick = lambda values, n, p=None: _pick(rng, values, n, p)  # noqa: E731

    # E-mail campaign: sent -> bounced (hard/soft) or delivered -> opened -> clicked one of its links.
    campaign = f"cmp-{day.isoformat()}"
    sent = d.who(rng.poisson(size * 0.22))
    sent_at = d.seconds(len(sent), 9 * 3600)
    sent_ids = population.ids.take(pa.array(sent))
    message = pc.binary_join_element_wise(f"msg-{day.isoformat()}", sent_ids, "-")
    email = {"channel": "email", "campaign_id": campaign}
    d.add(sent, "email_sent", sent_at, message_id=message, **email)
    bounce_chance = np.where(population.bouncy[sent], 0.6, 0.02)
    bounced = rng.random(len(sent)) < bounce_chance
    hard = rng.random(len(sent)) < 0.3
    b = np.nonzero(bounced)[0]
    d.add(sent[b], "email_bounced", sent_at[b] + 60, message_id=message.take(pa.array(b)),
          bounce_type=pa.array(np.where(hard[b], "hard", "soft")), **email)  # fmt: skip
    ok = np.nonzero(~bounced)[0]
    d.add(sent[ok], "email_delivered", sent_at[ok] + 5, message_id=message.take(pa.array(ok)), **email)
    opened = ok[rng.random(len(ok)) < 0.35]
    opened_at = sent_at[opened] + rng.integers(60, 6 * 3600, len(opened))
    d.add(sent[opened], "email_opened", opened_at, message_id=message.take(pa.array(opened)), **email)
    clicked = opened[rng.random(len(opened)) < 0.3]
    links = pick(CAMPAIGN_LINKS, len(clicked), [0.55, 0.35, 0.10])
    d.add(sent[clicked], "email_clicked", sent_at[clicked] + rng.integers(120, 8 * 3600, len(clicked)),
          message_id=message.take(pa.array(clicked)), link=links, url=links, **email)  # fmt: skip
    complained = opened[rng.random(len(opened)) < 0.003]
    d.add(sent[complained], "email_complained", sent_at[complained] + 7200, message_id=message.take(pa.array(complained)), **email)

    # SMS
    sms = d.who(rng.poisson(size * 0.02))
    sms_at = d.seconds(len(sms), 10 * 3600)
    d.add(sms, "sms_sent", sms_at, channel="sms", campaign_id=f"sms-{day.isoformat()}")
    delivered = sms[rng.random(len(sms)) < 0.95]
    d.add(delivered, "sms_delivered", d.seconds(len(delivered), 10 * 3600), channel="sms", campaign_id=f"sms-{day.isoformat()}")

    # Web
    views = d.who(rng.poisson(size * 0.30))
    pages = pick(PAGES, len(views))
    d.add(views, "page_view", d.seconds(len(views), 0), channel="web", url=pages, properties=_page_properties(rng, len(views)))
    searches = d.who(rng.poisson(size * 0.04))
    d.add(searches, "search", d.seconds(len(searches), 0), channel="web", search_query=pick(SEARCHES, len(searches)))
    downloads = d.who(rng.poisson(size * 0.02))
    d.add(downloads, "download", d.seconds(len(downloads), 0), channel="web", url=pick(DOWNLOADS, len(downloads)))
    forms = d.who(rng.poisson(size * 0.015))
    d.add(forms, "form_submit", d.seconds(len(forms), 0), channel="web", url=pick(FORMS, len(forms)))

    # Tickets: a show of a production some days ahead; impulsive buyers buy days before.
    buyers = d.who(rng.poisson(size * 0.05))
    bought_at = d.seconds(len(buyers), 8 * 3600)
    lead_days = np.where(population.impulsive[buyers], rng.integers(0, 3, len(buyers)), rng.integers(3, 120, len(buyers)))
    show_day = d.day_start + lead_days * 86400
    starts = show_day + 19 * 3600
    production = rng.integers(0, len(PRODUCTIONS), len(buyers))
    production_ref = pa.array(np.array([p[0] for p in PRODUCTIONS], dtype=object)[production], pa.string())
    show_date = pc.strftime(_timestamps(show_day), "%Y-%m-%d")
    quantity = rng.integers(1, 5, len(buyers))
    price = np.array([p[1] for p in PRODUCTIONS])[production]
    order_numbers = pc.cast(pa.array(np.arange(d.next_event, d.next_event + len(buyers))), pa.string())
    d.add(buyers, "purchase", bought_at, channel="commerce", order_id=pc.binary_join_element_wise("o", order_numbers, ""),
          product_id=pc.binary_join_element_wise("ticket", production_ref, "-"),
          event_ref=pc.binary_join_element_wise(production_ref, show_date, "@"), production_ref=production_ref,
          event_start=_timestamps(starts), quantity=pa.array(quantity), amount=pa.array(np.round(quantity * price, 2)),
          sales_channel=pick(["online", "boxoffice"], len(buyers), [0.7, 0.3]))  # fmt: skip

    # Lead scoring: risers mostly go up.
    scored = d.who(rng.poisson(size * 0.08))
    steps = SCORE_STEPS[rng.integers(0, len(SCORE_STEPS), len(scored))]
    steps = np.where(population.riser[scored], np.abs(steps), steps)
    d.add(scored, "score_changed", d.seconds(len(scored), 0), channel="crm", score_delta=pa.array(steps.astype("int64")),
          reason=pick(["page_view", "email_click", "purchase", "form_submit", "decay"], len(scored)))  # fmt: skip

    # A journey that has been running: its steps' outcomes.
    stepped = d.who(rng.poisson(size * 0.01))
    d.add(stepped, "journey_step", d.seconds(len(stepped), 0), channel="journey", journey_id="j-launch",
          step_id=pick(["s1-email", "s2-wait-click", "s3-hold", "s4-sms"], len(stepped)),
          outcome=(outcomes := pick(JOURNEY_OUTCOMES, len(stepped), [0.4, 0.25, 0.12, 0.05, 0.08, 0.05, 0.05])),
          reason=pc.if_else(pc.is_in(outcomes, pa.array(["blocked", "stopped"])),
                            pick(["no_consent", "suppressed", "left_segment"], len(stepped)), pa.scalar(None, pa.string())))  # fmt: skip
    return d


def generate(
    out: Path,
    contacts: int,
    events_per_contact: float = 20,
    days: int = 365,
    org: str = "demo",
    seed: int = 1,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write a lake for `org` under `out` (replacing that org's data); returns the rows written."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rng = np.random.default_rng(seed)
    contacts_dir = out / "contacts" / f"org_id={org}"
    events_dir = out / "events" / f"org_id={org}"
    for folder in (contacts_dir, events_dir):
        if folder.exists():
            shutil.rmtree(folder)
    contacts_dir.mkdir(parents=True)
    table, population = generate_contacts(rng, contacts, now)
    pq.write_table(table, contacts_dir / "part-0.parquet", compression="snappy")
    if progress:
        progress(f"contacts: {contacts:,} written")

    # Contacts who went quiet drop some draws; 1.05 keeps the total near contacts * events_per_contact.
    per_day = 1.05 * contacts * events_per_contact / (max(days, 1) + 1)
    written = 0
    next_event = 0
    today = now.date()
    for i in range(days, -1, -1):
        day = today - dt.timedelta(days=i)
        weekday = 0.8 if day.weekday() >= 5 else 1.05
        d = generate_day(rng, population, day, int(per_day * weekday), next_event)
        next_event = d.next_event
        events = d.table()
        events = events.filter(pc.less_equal(events["ts"], pa.scalar(now, pa.timestamp("us"))))
        if len(events):
            folder = events_dir / f"dt={day.isoformat()}"
            folder.mkdir(parents=True)
            pq.write_table(events, folder / "part-0.parquet", compression="snappy")
        written += len(events)
        if progress and (i % 10 == 0 or i == 0):
            progress(f"events: day {days - i + 1}/{days + 1}, {written:,} written")
    return {"contacts": contacts, "events": written}


def print_progress(message: str) -> None:
    sys.stderr.write(f"\r{message}\033[K")
    sys.stderr.flush()
