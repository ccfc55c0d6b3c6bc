"""Exports, bulk actions, webhook destinations and planned jobs in the one table (key design: tern.store).

export             ORG#<org>                          EXPORT#<id>
action             ORG#<org>                          ACTION#<segment>#<id>     (ids sort by time)
destination        ORG#<org>                          DESTINATION#<id>
planned job        ORG#<org>#PLANNED#<segment>        <export|action>#<id>      (taken once, when the evaluation ends)
"""

from __future__ import annotations

from tern.aws.dynamodb import Table
from tern.exports.model import Action, Destination, Export
from tern.store.records import Records


class ExportRepository(Records[Export]):
    kind, model = "export", Export


class DestinationRepository(Records[Destination]):
    kind, model = "destination", Destination


class ActionRepository(Records[Action]):
    kind, model = "action", Action

    def key_of(self, record: Action) -> str:
        return f"{record.segment_id}#{record.id}"

    def of_segment(self, org_id: str, segment_id: str) -> list[Action]:
        return self.all(org_id, within=f"{segment_id}#")


class Planned:
    """Jobs waiting for their segment's evaluation to end. take() hands each to exactly one caller."""

    def __init__(self, table: Table):
        self.table = table

    @staticmethod
    def _pk(org_id: str, segment_id: str) -> str:
        return f"ORG#{org_id}#PLANNED#{segment_id}"

    def plan(self, org_id: str, segment_id: str, kind: str, job_id: str) -> None:
        self.table.put({"PK": self._pk(org_id, segment_id), "SK": f"{kind}#{job_id}"})

    def waiting(self, org_id: str, segment_id: str) -> list[tuple[str, str]]:
        return [tuple(str(i["SK"]).split("#", 1)) for i in self.table.all(self._pk(org_id, segment_id))]  # type: ignore[misc]

    def take(self, org_id: str, segment_id: str, kind: str, job_id: str) -> bool:
        return self.table.take(self._pk(org_id, segment_id), f"{kind}#{job_id}") is not None
