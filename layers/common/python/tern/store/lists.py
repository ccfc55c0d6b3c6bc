"""Imported static lists: their records in the one table (PK ORG#<org>, SK LIST#<id>)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from tern.errors import NotFoundError
from tern.store.table import Table


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
    created_at: dt.datetime


class ListRepository:
    def __init__(self, table: Table):
        self.table = table

    def create(self, record: ListRecord) -> None:
        self.table.put(
            {"PK": f"ORG#{record.org_id}", "SK": f"LIST#{record.id}", "body": record.model_dump_json()},
            condition="attribute_not_exists(PK)",
        )

    def get(self, org_id: str, list_id: str) -> ListRecord:
        item = self.table.get(f"ORG#{org_id}", f"LIST#{list_id}")
        if item is None:
            raise NotFoundError(f"list {list_id} not found")
        return ListRecord.model_validate_json(item["body"])
