"""Records of one kind kept as JSON in the one table, under their org's partition, written with a version check.

    <kind>      ORG#<org>      <KIND>#<id>        body (JSON), version

A record is a pydantic model with `id`, `org_id` and `version`; `version` grows with every write, and a
write of a stale copy is refused (ConflictError). A kind may extend its sort key (actions put their
segment's id first, so one query lists a segment's actions).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from tern.aws.dynamodb import Table
from tern.errors import NotFoundError

R = TypeVar("R", bound=BaseModel)


class Records(Generic[R]):
    kind: str
    model: type[R]

    def __init__(self, table: Table):
        self.table = table

    def sk(self, record_id: str) -> str:
        return f"{self.kind.upper()}#{record_id}"

    def create(self, record: R) -> R:
        stored = record.model_copy(update={"version": 1})
        self.table.put(self._item(stored), condition="attribute_not_exists(PK)")
        return stored

    def get(self, org_id: str, record_id: str) -> R:
        item = self.table.get(f"ORG#{org_id}", self.sk(record_id))
        if item is None:
            raise NotFoundError(f"{self.kind} {record_id} not found")
        return self.model.model_validate_json(item["body"])

    def all(self, org_id: str, within: str = "") -> list[R]:
        """The org's records of this kind (those whose id starts with `within`), in sort key order."""
        return [self.model.model_validate_json(i["body"]) for i in self.table.all(f"ORG#{org_id}", prefix=self.sk(within))]

    def save(self, record: R) -> R:
        version: int = getattr(record, "version")  # noqa: B009 - every record model has one
        stored = record.model_copy(update={"version": version + 1})
        self.table.put(self._item(stored), condition="version = :read", values={":read": version})
        return stored

    def delete(self, org_id: str, record_id: str) -> None:
        if self.table.take(f"ORG#{org_id}", self.sk(record_id)) is None:
            raise NotFoundError(f"{self.kind} {record_id} not found")

    def key_of(self, record: R) -> str:
        return str(getattr(record, "id"))  # noqa: B009

    def _item(self, record: R) -> dict[str, Any]:
        return {
            "PK": f"ORG#{getattr(record, 'org_id')}", "SK": self.sk(self.key_of(record)),  # noqa: B009
            "version": getattr(record, "version"), "body": record.model_dump_json(),  # noqa: B009
        }  # fmt: skip
