"""Lambda: a function invoked asynchronously (the export function, journey_run; Lambda retries a crashed run), or
waited for (the preview function)."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tern.aws import Clients, failing_as_store_error
from tern.errors import NotQuick


class LambdaTrigger:
    def __init__(self, lambda_client: Any, function_arn: str):
        self._lambda = lambda_client
        self.function_arn = function_arn

    def invoke(self, payload: dict[str, Any], what: str) -> None:
        with failing_as_store_error(f"starting {what}"):
            self._lambda.invoke(FunctionName=self.function_arn, InvocationType="Event", Payload=json.dumps(payload))


class LambdaCall:
    """A function invoked and waited for (the preview function): its answer, or NotQuick when it cannot be had (the
    function throttled, failed or timed out): the caller has another way."""

    def __init__(self, lambda_client: Any, function_arn: str):
        self._lambda = lambda_client
        self.function_arn = function_arn

    @classmethod
    def waiting(cls, clients: Clients, function_arn: str, seconds: float) -> LambdaCall:
        """A call that waits at most `seconds` for the answer, and is not retried: the caller has another way."""
        config = Config(read_timeout=seconds, connect_timeout=min(seconds, 5), retries={"total_max_attempts": 1})
        return cls(clients.session.client("lambda", config=config), function_arn)

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._lambda.invoke(FunctionName=self.function_arn, InvocationType="RequestResponse", Payload=json.dumps(payload))
            body = response["Payload"].read()
        except (ClientError, BotoCoreError) as e:
            raise NotQuick(f"calling {self.function_arn}: {e}") from None
        if response.get("FunctionError"):
            raise NotQuick(f"{self.function_arn} failed: {body[:500].decode(errors='replace')}")
        answer: dict[str, Any] = json.loads(body)
        return answer
