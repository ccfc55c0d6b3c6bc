"""Which Tern object an imported element became, so that importing it again updates instead of duplicating.

ORG#<org>#IMPORTED#<source>    <kind>#<key>    tern_id, at
"""

from __future__ import annotations

import datetime as dt

from tern.aws.dynamodb import Table


class ImportLinks:
    def __init__(self, table: Table):
        self.table = table

    def get(self, org_id: str, source: str, kind: str, key: str) -> str | None:
        item = self.table.get(f"ORG#{org_id}#IMPORTED#{source}", f"{kind}#{key}")
        return str(item["tern_id"]) if item else None

    def put(self, org_id: str, source: str, kind: str, key: str, tern_id: str, at: dt.datetime) -> None:
        self.table.put({"PK": f"ORG#{org_id}#IMPORTED#{source}", "SK": f"{kind}#{key}", "tern_id": tern_id, "at": at.isoformat()})
