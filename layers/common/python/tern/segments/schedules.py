"""Refresh schedules on EventBridge Scheduler: one schedule per live segment, invoking evaluate_segment."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.errors import StoreError
from tern.segments.lifecycle import schedule_expression
from tern.segments.record import Segment


class EventBridgeSchedules:
    def __init__(self, scheduler_client: Any, group: str, target_arn: str, role_arn: str):
        self._scheduler = scheduler_client
        self.group = group
        self.target_arn = target_arn
        self.role_arn = role_arn

    @staticmethod
    def name(segment: Segment) -> str:
        # Scheduler names allow [0-9a-zA-Z-_.]{1,64}; org and segment ids may hold anything.
        return "segment-" + hashlib.sha256(f"{segment.org_id}\n{segment.id}".encode()).hexdigest()[:40]

    def schedule(self, segment: Segment, now: dt.datetime) -> None:
        once = segment.refresh == "once"
        request: dict[str, Any] = {
            "Name": self.name(segment),
            "GroupName": self.group,
            # a one-time refresh runs a minute from now: at() must not lie in the past when it arrives
            "ScheduleExpression": schedule_expression(segment.refresh, now + dt.timedelta(minutes=1)),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": self.target_arn,
                "RoleArn": self.role_arn,
                "Input": json.dumps({"org_id": segment.org_id, "segment_id": segment.id}),
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
            },
            "Description": f"refresh segment {segment.id} of org {segment.org_id}"[:512],
        }
        if once:
            request["ActionAfterCompletion"] = "DELETE"
        try:
            try:
                self._scheduler.create_schedule(**request)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") != "ConflictException":
                    raise
                self._scheduler.update_schedule(**request)
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"scheduling segment {segment.id}: {e}") from None

    def unschedule(self, segment: Segment) -> None:
        delete_schedule(self._scheduler, self.name(segment), self.group, f"segment {segment.id}")


def delete_schedule(scheduler: Any, name: str, group: str, what: str) -> None:
    """Delete a schedule; one already gone is fine."""
    try:
        scheduler.delete_schedule(Name=name, GroupName=group)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise StoreError(f"unscheduling {what}: {e}") from None
    except BotoCoreError as e:
        raise StoreError(f"unscheduling {what}: {e}") from None
