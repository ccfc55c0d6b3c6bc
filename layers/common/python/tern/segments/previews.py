"""Previews still counting: the queries a preview started, kept for the client to poll (GET /previews/{id}).

One item per preview under the org's key, so another org finds nothing; DynamoDB's TTL removes it a day later.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from tern.aws.dynamodb import Table
from tern.errors import NotFoundError

KEPT_SECONDS = 86_400


@dataclass(frozen=True)
class PendingPreview:
    id: str
    count_query: str  # the engine's query ids
    sample_query: str
    leaves: list[tuple[str, str]]  # (path, kind) of each node of the outline, in the count's column order


class PreviewRepository:
    def __init__(self, table: Table):
        self.table = table

    def put(self, org_id: str, preview: PendingPreview, now_epoch: int) -> None:
        self.table.put(
            {
                "PK": f"ORG#{org_id}",
                "SK": f"PREVIEW#{preview.id}",
                "body": json.dumps(asdict(preview)),
                "expires_at": now_epoch + KEPT_SECONDS,
            }
        )

    def get(self, org_id: str, preview_id: str) -> PendingPreview:
        item = self.table.get(f"ORG#{org_id}", f"PREVIEW#{preview_id}")
        if item is None:
            raise NotFoundError(f"preview {preview_id} not found")
        body = json.loads(item["body"])
        return PendingPreview(body["id"], body["count_query"], body["sample_query"], [tuple(leaf) for leaf in body["leaves"]])  # type: ignore[misc]
