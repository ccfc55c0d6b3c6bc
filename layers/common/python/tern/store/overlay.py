"""Tern's overlay of contact changes: tags, categories and consents added or removed by bulk actions and by
journeys' update_contact steps. The customer's contacts data is never rewritten.

    overlay/org_id=<org>/<source>.parquet      contact_id, kind, value, action, changed_at, source

The compiler reads contacts' tags, categories and consents as the base values with these changes applied,
the latest change of a (contact, kind, value) winning (tern.segments.compiler.effective_contacts). A file is
written whole under a name fixed by its source (a bulk action's id, a journey step's execution), so a
retried writer replaces its own file and never adds a second copy.

Every change is mirrored in the table, one item per contact and value, because a journey reads them contact
by contact (a send its consent, a split's condition the tags, categories and consents), where a query over
the lake would be far too slow:

    ORG#<org>#CHANGES#<contact>     <column>#<value>       action, at     (column: tags, categories, consents)

A later write of the same value replaces the item (batch writes take no condition): changes are written
as they happen, so the last written is the latest, as the lake's "latest change wins" reads them.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import Literal, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from tern.aws.dynamodb import Table
from tern.lake import OVERLAY_KINDS
from tern.parquet import OVERLAY_SCHEMA
from tern.ports import LakeFiles

Kind = Literal["tag", "category", "consent"]
Change = Literal["add", "remove"]
BATCH = 100_000
T = TypeVar("T")


def _changes_pk(org_id: str, contact_id: str) -> str:
    return f"ORG#{org_id}#CHANGES#{contact_id}"


class ContactOverlay:
    def __init__(self, files: LakeFiles, table: Table):
        self.files = files
        self.table = table

    @staticmethod
    def key(org_id: str, source: str) -> str:
        return f"overlay/org_id={org_id}/{source}.parquet"

    def write(self, org_id: str, source: str, kind: Kind, value: str, action: Change, contact_ids: Iterable[str], at: dt.datetime) -> int:
        """Record one change for every contact in `contact_ids` (streamed, a batch at a time); returns how many."""
        at = at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at
        written = 0
        fd, path = tempfile.mkstemp(suffix=".parquet")
        os.close(fd)
        try:
            with pq.ParquetWriter(path, OVERLAY_SCHEMA, compression="zstd") as writer:
                for batch in chunked(contact_ids, BATCH):
                    n = len(batch)
                    writer.write_table(pa.table({
                        "contact_id": pa.array(batch, pa.string()), "kind": pa.array([kind] * n, pa.string()),
                        "value": pa.array([value] * n, pa.string()), "action": pa.array([action] * n, pa.string()),
                        "changed_at": pa.array([at] * n, pa.timestamp("us")), "source": pa.array([source] * n, pa.string()),
                    }, schema=OVERLAY_SCHEMA))  # fmt: skip
                    stamp, column = at.isoformat(), OVERLAY_KINDS[kind]
                    self.table.write_batch(
                        puts=(
                            {"PK": _changes_pk(org_id, c), "SK": f"{column}#{value}", "action": action, "at": stamp, "source": source}
                            for c in batch
                        )
                    )
                    written += n
            with open(path, "rb") as f:
                self.files.put(self.key(org_id, source), f.read())
        finally:
            os.unlink(path)
        return written

    def consent(self, org_id: str, contact_id: str, consent: str) -> Change | None:
        """The latest overlay change of the contact's consent, if any: it overrides what the contact had."""
        item = self.table.get(_changes_pk(org_id, contact_id), f"consents#{consent}")
        return None if item is None else item["action"]  # type: ignore[return-value]

    def changes(self, org_id: str, contact_id: str) -> dict[tuple[str, str], Change]:
        """Every overlay change of the contact: (column, value) -> its latest action (one query)."""
        found: dict[tuple[str, str], Change] = {}
        for item in self.table.all(_changes_pk(org_id, contact_id)):
            column, _, value = str(item["SK"]).partition("#")
            found[(column, value)] = item["action"]
        return found


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """The items in lists of `size` (the last may be shorter), never holding more than one list."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
