"""Starting a segment's refresh workflow (statemachines/refresh_segment.asl.json) and reading how it went.

An evaluation's id is its execution's name; the admin API answers 202 with it and the client polls.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from tern.errors import NotFoundError
from tern.ports import StateMachines, execution_arn

_NAME = re.compile(r"[0-9A-Za-z_-]{1,80}")  # execution names Tern and EventBridge Scheduler give


@dataclass(frozen=True)
class SegmentRefreshes:
    machines: StateMachines
    machine_arn: str  # the refresh state machine; EventBridge Scheduler starts it too

    def start(self, org_id: str, segment_id: str) -> str:
        """Start a refresh now; returns the evaluation's id."""
        evaluation_id = uuid.uuid4().hex
        self.machines.start(self.machine_arn, evaluation_id, {"org_id": org_id, "segment_id": segment_id})
        return evaluation_id

    def status(self, org_id: str, segment_id: str, evaluation_id: str) -> dict[str, Any]:
        """How the refresh goes: running, done (with the evaluation), skipped or failed (with the reason).
        NotFoundError for an evaluation of another segment or org."""
        found = None
        if _NAME.fullmatch(evaluation_id):
            found = self.machines.describe(execution_arn(self.machine_arn, evaluation_id))
        if found is None or found["input"] != {"org_id": org_id, "segment_id": segment_id}:
            raise NotFoundError(f"evaluation {evaluation_id} of segment {segment_id} not found")
        answer: dict[str, Any] = {"evaluation_id": evaluation_id, "segment_id": segment_id}
        if found["status"] == "RUNNING":
            return {**answer, "status": "running"}
        if found["status"] == "SUCCEEDED":
            output = found["output"] or {}
            if "skipped" in output:
                return {**answer, "status": "skipped", "reason": output["skipped"]}
            return {**answer, **output, "status": "done"}
        return {**answer, "status": "failed", "reason": found["cause"] or found["error"] or found["status"].lower()}
