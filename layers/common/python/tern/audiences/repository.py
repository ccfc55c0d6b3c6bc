"""Connected ad accounts, segments' audiences and their syncs in the one table (key design: tern.store).

ad account     ORG#<org>    ADACCOUNT#<id>
audience       ORG#<org>    AUDIENCE#<segment>#<id>      (a segment's audiences in one query)
sync           ORG#<org>    SYNC#<audience>#<id>         (ids sort by time)
"""

from __future__ import annotations

from tern.audiences.model import AdAccount, Audience, Sync
from tern.store.records import Records


class AdAccountRepository(Records[AdAccount]):
    kind, model = "adaccount", AdAccount


class AudienceRepository(Records[Audience]):
    kind, model = "audience", Audience

    def key_of(self, record: Audience) -> str:
        return f"{record.segment_id}#{record.id}"

    def of_segment(self, org_id: str, segment_id: str) -> list[Audience]:
        return self.all(org_id, within=f"{segment_id}#")


class SyncRepository(Records[Sync]):
    kind, model = "sync", Sync

    def key_of(self, record: Sync) -> str:
        return record.key()
