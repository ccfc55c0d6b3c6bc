"""Imported static lists: their records in the one table (PK ORG#<org>, SK LIST#<id>)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tern.clock import Instant
from tern.store.records import Records


class ListRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    org_id: str
    name: str
    key: str  # what the CSV named contacts by: contact_id or email
    rows: int
    matched: int
    unknown: int
    duplicates: int
    bad_rows: int
    location: str
    created_at: Instant
    separator: str = ","  # as detected: "," ";" or a tab
    bom: bool = False  # the file began with a byte-order mark (Excel's "CSV UTF-8")
    version: int = 0


class ListRepository(Records[ListRecord]):
    kind, model = "list", ListRecord
