"""EventBridge Scheduler: schedules in Tern's group that invoke one function with a payload."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.aws import error_code, failing_as_store_error
from tern.errors import StoreError


class EventBridgeScheduler:
    def __init__(self, scheduler_client: Any, group: str, target_arn: str, role_arn: str, dead_letter_arn: str | None = None):
        self._scheduler = scheduler_client
        self.group = group
        self.target_arn = target_arn
        self.role_arn = role_arn
        self.dead_letter_arn = dead_letter_arn  # an SQS queue for events the target still fails after the retries

    def put(
        self,
        name: str,
        expression: str,
        payload: dict[str, Any],
        description: str,
        *,
        once: bool,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> None:
        request: dict[str, Any] = {
            "Name": name, "GroupName": self.group, "ScheduleExpression": expression, "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": self.target_arn, "RoleArn": self.role_arn, "Input": json.dumps(payload),
                       "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}},
            "Description": description[:512],
        }  # fmt: skip
        if self.dead_letter_arn:
            request["Target"]["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        if start is not None:
            request["StartDate"] = start
        if end is not None:
            request["EndDate"] = end
        if once:
            request["ActionAfterCompletion"] = "DELETE"
        with failing_as_store_error(f"scheduling {description}"):
            try:
                self._scheduler.create_schedule(**request)
            except ClientError as e:
                if error_code(e) != "ConflictException":
                    raise
                self._scheduler.update_schedule(**request)

    def delete(self, name: str) -> None:
        try:
            self._scheduler.delete_schedule(Name=name, GroupName=self.group)
        except ClientError as e:
            if error_code(e) != "ResourceNotFoundException":
                raise StoreError(f"unscheduling {name}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"unscheduling {name}: {e}") from None
