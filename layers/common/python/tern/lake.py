"""The data lake's contract: the columns of `contacts` and `events` and their types.

One source for the compiler (field checks), the engines (typed views over files that omit
optional columns) and the data generator.
"""

from __future__ import annotations

import re
from enum import StrEnum

# An org's id names its folders (`org_id=<id>`) and keys: letters, digits, `.`, `_`, `-`, never `/` or `=`. Every
# way in (the API's claims, recipients' links, contact events on EventBridge) holds an org id to it.
ORG_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ColumnType(StrEnum):
    STRING = "string"
    INT = "int"
    DOUBLE = "double"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"
    STRING_LIST = "list<string>"
    STRING_MAP = "map<string,string>"


S, INT, F, B, D, T = (
    ColumnType.STRING,
    ColumnType.INT,
    ColumnType.DOUBLE,
    ColumnType.BOOL,
    ColumnType.DATE,
    ColumnType.TIMESTAMP,
)

CONTACTS: dict[str, ColumnType] = {
    "contact_id": S,
    "email": S,
    "phone": S,
    "first_name": S,
    "last_name": S,
    "gender": S,
    "birth_date": D,
    "city": S,
    "postal_code": S,
    "country": S,
    "latitude": F,
    "longitude": F,
    "language": S,
    "lead_score": INT,
    "lead_stage": S,
    "opportunity_stage": S,
    "owner": S,
    "subscriber": B,
    "tags": ColumnType.STRING_LIST,
    "categories": ColumnType.STRING_LIST,
    "consents": ColumnType.STRING_LIST,
    "attributes": ColumnType.STRING_MAP,
    "created_at": T,
    "updated_at": T,
    "timezone": S,  # IANA name (Europe/Warsaw): journeys' send windows in the contact's own time; optional
}

EVENTS: dict[str, ColumnType] = {
    "event_id": S,
    "contact_id": S,
    "event_type": S,
    "ts": T,
    "channel": S,
    "campaign_id": S,
    "journey_id": S,
    "step_id": S,
    "message_id": S,
    "link": S,
    "url": S,
    "search_query": S,
    "bounce_type": S,
    "order_id": S,
    "product_id": S,
    "event_ref": S,
    "production_ref": S,
    "event_start": T,
    "quantity": INT,
    "amount": F,
    "sales_channel": S,
    "score_delta": INT,
    "outcome": S,
    "reason": S,
    "properties": ColumnType.STRING_MAP,
}

# Stored segment memberships (one manifest per evaluation) and imported static lists.
MEMBERSHIPS: dict[str, ColumnType] = {"contact_id": S}
LISTS: dict[str, ColumnType] = {"contact_id": S}

# Tern's overlay of contact changes (bulk actions, journeys' update_contact): the customer's contacts data is
# never rewritten; the compiler reads tags, categories and consents as the base values with the overlay applied,
# the latest change for a (contact, kind, value) winning.
OVERLAY: dict[str, ColumnType] = {"contact_id": S, "kind": S, "value": S, "action": S, "changed_at": T, "source": S}
OVERLAY_KINDS: dict[str, str] = {"tag": "tags", "category": "categories", "consent": "consents"}  # kind -> contacts column

# Partition columns: not stored in the files, taken from the Hive-style path.
CONTACTS_PARTITIONS = ("org_id",)
EVENTS_PARTITIONS = ("org_id", "dt")
MEMBERSHIPS_PARTITIONS = ("org_id", "segment_id", "evaluation_id")
LISTS_PARTITIONS = ("org_id", "list_id")
OVERLAY_PARTITIONS = ("org_id",)

LIST_COLUMNS = frozenset(name for name, t in CONTACTS.items() if t is ColumnType.STRING_LIST)
SCALAR_CONTACT_COLUMNS = frozenset(name for name, t in CONTACTS.items() if t not in (ColumnType.STRING_LIST, ColumnType.STRING_MAP))

# Names a marketer uses for event fields in activity filters, mapped to the events column.
EVENT_FILTER_ALIASES: dict[str, str] = {
    "campaign": "campaign_id",
    "journey": "journey_id",
    "step": "step_id",
    "message": "message_id",
    "product": "product_id",
    "order": "order_id",
    "production": "production_ref",
    "event": "event_ref",
}
EVENT_FILTER_COLUMNS = frozenset(
    name
    for name, t in EVENTS.items()
    if t in (ColumnType.STRING, ColumnType.INT, ColumnType.DOUBLE) and name not in ("contact_id", "event_type", "event_id")
)
