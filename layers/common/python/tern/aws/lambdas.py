"""Lambda: a function invoked asynchronously (the export function, journey_run); Lambda retries a crashed run."""

from __future__ import annotations

import json
from typing import Any

from tern.aws import failing_as_store_error


class LambdaTrigger:
    def __init__(self, lambda_client: Any, function_arn: str):
        self._lambda = lambda_client
        self.function_arn = function_arn

    def invoke(self, payload: dict[str, Any], what: str) -> None:
        with failing_as_store_error(f"starting {what}"):
            self._lambda.invoke(FunctionName=self.function_arn, InvocationType="Event", Payload=json.dumps(payload))
