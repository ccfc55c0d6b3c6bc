"""Starting jobs in the cloud: the export function, invoked asynchronously (Lambda retries a crashed run)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.errors import StoreError


class LambdaJobTrigger:
    def __init__(self, lambda_client: Any, export_function_arn: str):
        self._lambda = lambda_client
        self.export_function_arn = export_function_arn

    def run(self, org_id: str, kind: str, job_id: str, segment_id: str) -> None:
        payload = {"org_id": org_id, "kind": kind, "id": job_id, "segment_id": segment_id}
        try:
            self._lambda.invoke(FunctionName=self.export_function_arn, InvocationType="Event", Payload=json.dumps(payload))
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"starting {kind} {job_id}: {e}") from None
