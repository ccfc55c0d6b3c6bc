"""A published journey, compiled to an Amazon States Language state machine.

One execution per contact. Its input carries everything the states need:

    {"journey": {"org_id", "id", "version"}, "contact_id", "run_id",
     "timeouts": {BRANCH_STEP: seconds}, "waits": {WAIT_STEP: timestamp or seconds}}

`timeouts` and `waits` are computed when the execution starts, by the library clock (see runs.py), so the
state machine itself never reads a clock and a compressed clock compresses the whole journey.

Steps map to states one to one, so a contact costs one state transition per step it passes, plus one for a
decision's Choice or a wait from a field. Each kind makes its own states (its `states`, in tern.journeys.kinds);
what they share is here: the Task invoking journey_step (Lambda's transient errors and `RetryLater`, a throttled
send, retried with backoff; `ContactStopped`, no consent or suppressed, caught and ending the contact's path in
the shared `tern:stopped`, the step having recorded why), and `tern:end`, where a Choice's way with no next
step goes.

The shared pieces (the Task's retry and catch policy, the payload) are here rather than in a file under
statemachines/ because they must ship in the Lambda layer with the compiler that uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tern.errors import ContactStopped, RetryLater
from tern.journeys.kinds import StepKind
from tern.journeys.kinds.base import END, STOPPED, Machine
from tern.journeys.model import JourneyDefinition

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    RetryLater.__name__,
]
RETRY = [{"ErrorEquals": TRANSIENT, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0}]


@dataclass
class Tasks(Machine):
    """The journey's Task states: each invokes journey_step with the step and the contact, retries Lambda's transient
    errors and `RetryLater` with backoff, and takes `ContactStopped` to the shared `tern:stopped`."""

    step_function_arn: str
    event: bool  # an event-triggered journey's executions carry the entering event
    windowed: bool

    def task(self, step: StepKind, phase: str = "step", token: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "phase": phase,
            "step": step.id,
            "journey.$": "$.journey",
            "contact_id.$": "$.contact_id",
            "run_id.$": "$.run_id",
            "execution.$": "$$.Execution.Name",
            "started.$": "$$.Execution.StartTime",
            "contact.$": "$.contact",
        }
        if token:
            payload["token.$"] = "$$.Task.Token"
        if self.event:
            payload["entry_event.$"] = "$.entry_event"
        return {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": self.step_function_arn, "Payload": payload},
            "ResultPath": None,
            "Retry": RETRY,
            "Catch": [{"ErrorEquals": [ContactStopped.__name__], "ResultPath": None, "Next": STOPPED}],
        }


def compile_journey(definition: JourneyDefinition, step_function_arn: str) -> dict[str, Any]:
    """The ASL document (a dict; json.dumps it for CreateStateMachine): each step's states, as its kind makes them."""
    windowed = definition.send_window is not None or bool(definition.closed_dates)
    machine = Tasks(step_function_arn=step_function_arn, event=definition.by_event(), windowed=windowed)
    states: dict[str, Any] = {}
    for step in definition.steps:
        states.update(step.states(machine))
    states[STOPPED] = {"Type": "Succeed", "Comment": "the contact was stopped or blocked at a step, which recorded why"}
    if any(END in (state.get("Next"), state.get("Default")) for state in states.values()):
        states[END] = {"Type": "Succeed", "Comment": "a decision's way with no next step (and the held-out) ends the path"}
    return {
        "Comment": f"Tern journey: {definition.name}"[:200],
        "StartAt": definition.start,
        "States": states,
    }
