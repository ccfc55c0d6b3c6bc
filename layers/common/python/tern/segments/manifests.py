"""Manifests: the members of one evaluation, as Parquet in the lake, readable by the engines.

    memberships/org_id=<org>/segment_id=<segment>/evaluation_id=<evaluation>/members.parquet

in_segment criteria read them through the `memberships` table (Glue in the cloud, a DuckDB view locally).
Where the files live is a LakeFiles: S3 in the cloud, a folder on a laptop.
"""

from __future__ import annotations

import pyarrow as pa

from tern.parquet import contact_ids, parquet_bytes
from tern.ports import LakeFiles


class Manifests:
    def __init__(self, files: LakeFiles):
        self.files = files

    @staticmethod
    def key(org_id: str, segment_id: str, evaluation_id: str) -> str:
        return f"memberships/org_id={org_id}/segment_id={segment_id}/evaluation_id={evaluation_id}/members.parquet"

    def write(self, org_id: str, segment_id: str, evaluation_id: str, ids: list[str]) -> str:
        """Store the ids (sorted here) and return the manifest's key."""
        key = self.key(org_id, segment_id, evaluation_id)
        self.files.put(key, parquet_bytes(pa.table({"contact_id": pa.array(sorted(ids), pa.string())})))
        return key

    def read(self, key: str) -> list[str]:
        return contact_ids(self.files.get(key))
