"""The AWS side of journeys: completing task tokens, and triggering runs (now, at a time, on a schedule)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.clock import naive_utc
from tern.errors import StoreError
from tern.journeys.model import Journey
from tern.observability import logger
from tern.segments.lifecycle import schedule_expression
from tern.segments.schedules import delete_schedule

GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


class SfnTokens:
    def __init__(self, sfn_client: Any):
        self._sfn = sfn_client

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        """Resume the waiting execution; False if it no longer waits (timed out or stopped meanwhile)."""
        try:
            self._sfn.send_task_success(taskToken=token, output=json.dumps(output))
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in GONE:
                logger.info("task token no longer waiting", extra={"error": str(e)})
                return False
            raise StoreError(f"resuming a waiting contact: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"resuming a waiting contact: {e}") from None


class LambdaRunTrigger:
    """Runs go to the journey_run function: invoked asynchronously now, or by an EventBridge Scheduler schedule."""

    def __init__(self, lambda_client: Any, scheduler_client: Any, run_function_arn: str, group: str, role_arn: str):
        self._lambda = lambda_client
        self._scheduler = scheduler_client
        self.run_function_arn = run_function_arn
        self.group = group
        self.role_arn = role_arn

    @staticmethod
    def name(journey: Journey) -> str:
        return "journey-" + hashlib.sha256(f"{journey.org_id}\n{journey.id}".encode()).hexdigest()[:40]

    def run_now(self, org_id: str, journey_id: str) -> None:
        try:
            self._lambda.invoke(FunctionName=self.run_function_arn, InvocationType="Event", Payload=json.dumps({"org_id": org_id, "journey_id": journey_id}))
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"starting a run of journey {journey_id}: {e}") from None

    def schedule(self, journey: Journey, now: dt.datetime) -> None:
        if journey.mode == "recurring" and journey.every is not None:
            expression = schedule_expression(journey.every, now)
        else:
            expression = schedule_expression("once", naive_utc(journey.start_at) if journey.start_at else now)
        request: dict[str, Any] = {
            "Name": self.name(journey), "GroupName": self.group, "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": "UTC", "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": self.run_function_arn, "RoleArn": self.role_arn,
                       "Input": json.dumps({"org_id": journey.org_id, "journey_id": journey.id}),
                       "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}},
            "Description": f"run journey {journey.id} of org {journey.org_id}"[:512],
        }  # fmt: skip
        if journey.mode == "recurring" and journey.start_at:
            request["StartDate"] = journey.start_at
        if journey.mode != "recurring":
            request["ActionAfterCompletion"] = "DELETE"
        try:
            self._scheduler.create_schedule(**request)
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"scheduling journey {journey.id}: {e}") from None

    def unschedule(self, journey: Journey) -> None:
        delete_schedule(self._scheduler, self.name(journey), self.group, f"journey {journey.id}")
