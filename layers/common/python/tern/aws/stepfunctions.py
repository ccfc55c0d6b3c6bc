"""Step Functions: journeys' state machines, their executions, and the task tokens of waiting branches."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from tern.aws import error_code, failing_as_store_error
from tern.errors import RetryLater, StoreError

logger = Logger(service="tern", child=True, level=logging.NOTSET)  # the level is the function logger's

GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}
THROTTLED = {"ThrottlingException", "TooManyRequestsException"}


class StepFunctions:
    def __init__(self, sfn_client: Any, role_arn: str = ""):
        self._sfn = sfn_client
        self.role_arn = role_arn  # the state machines' role (creating them needs it; completing tokens does not)

    def create(self, name: str, definition: dict[str, Any], org_id: str, description: str) -> str:
        with failing_as_store_error(f"creating the state machine of {description}"):
            created = self._sfn.create_state_machine(
                name=name, definition=json.dumps(definition), roleArn=self.role_arn, type="STANDARD", publish=True,
                versionDescription=f"{description} as published", tags=[{"key": "tern:org", "value": org_id[:256]}],
            )  # fmt: skip
        return str(created["stateMachineArn"])

    def start(self, arn: str, name: str, payload: dict[str, Any]) -> bool:
        try:
            self._sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload, default=str))
            return True
        except ClientError as e:
            if error_code(e) == "ExecutionAlreadyExists":
                return False
            if error_code(e) in THROTTLED:
                raise RetryLater(f"starting execution {name}: {e}") from None
            raise StoreError(f"starting execution {name}: {e}") from None
        except BotoCoreError as e:  # the network: worth another try
            raise RetryLater(f"starting execution {name}: {e}") from None

    def running(self, arn: str) -> Iterator[tuple[str, str]]:
        with failing_as_store_error(f"listing the executions of {arn}"):
            for page in self._sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
                for execution in page["executions"]:
                    yield execution["name"], execution["executionArn"]

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        with failing_as_store_error(f"stopping {execution_arn}"):
            self._sfn.stop_execution(executionArn=execution_arn, error=error, cause=cause)

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        try:
            found = self._sfn.describe_execution(executionArn=execution_arn)
        except ClientError as e:
            if error_code(e) == "ExecutionDoesNotExist":
                return None
            if error_code(e) in THROTTLED:
                raise RetryLater(f"reading {execution_arn}: {e}") from None
            raise StoreError(f"reading {execution_arn}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"reading {execution_arn}: {e}") from None
        return {
            "status": found["status"], "input": json.loads(found.get("input") or "{}"),
            "output": json.loads(found["output"]) if found.get("output") else None,
            "error": found.get("error"), "cause": found.get("cause"),
        }  # fmt: skip

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        """Resume the waiting execution; False if it no longer waits (timed out or stopped meanwhile)."""
        try:
            self._sfn.send_task_success(taskToken=token, output=json.dumps(output))
            return True
        except ClientError as e:
            if error_code(e) in GONE:
                logger.info("task token no longer waiting", extra={"error": str(e)})
                return False
            raise StoreError(f"resuming a waiting contact: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"resuming a waiting contact: {e}") from None
