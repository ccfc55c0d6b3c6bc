"""A published journey, compiled to an Amazon States Language state machine.

One execution per contact. Its input carries everything the states need:

    {"journey": {"org_id", "id", "version"}, "contact_id", "run_id",
     "timeouts": {BRANCH_STEP: seconds}, "waits": {WAIT_STEP: timestamp or seconds}}

`timeouts` and `waits` are computed when the execution starts, by the library clock (see runs.py), so the
state machine itself never reads a clock and a compressed clock compresses the whole journey.

Steps map to states one to one, so a contact costs one state transition per step it passes:
- send_email, send_sms, update_contact: a Task invoking journey_step. Lambda's transient errors and
  `RetryLater` (a throttled send) are retried with backoff; `ContactStopped` (no consent, suppressed) is
  caught and ends the contact's path in the shared `tern:stopped` state (the step has recorded why).
- branch_on_event: a Task invoking journey_step with a task token (.waitForTaskToken): the step registers
  the token, ingest_events completes it when the event comes (yes), and the state's timeout sends the
  contact to `<step>:timeout`, which records the timeout and goes on to `no`.
- wait_until: a Wait on `$.waits.<step>` (a timestamp; one already past proceeds at once).
- wait_for: a Wait on `$.waits.<step>` (seconds).
- end: a Succeed state; a step with no next ends the execution itself (no extra transition).
- random_split: a Choice on `$.buckets.<step>` (the contact's bucket 0..99, a digest computed at entry, so a
  retry never moves a contact): one transition, no Lambda; branches take consecutive runs of buckets.
- holdout: a Choice on the bucket: below `percent` to `<step>:held_out`, a Task recording held_out that ends
  the path; the others go on.

The shared pieces (the Task's retry and catch policy, the payload) are here rather than in a file under
statemachines/ because they must ship in the Lambda layer with the compiler that uses them.
"""

from __future__ import annotations

from typing import Any

from tern.errors import ContactStopped, RetryLater
from tern.journeys.model import (
    BranchOnEvent,
    End,
    Holdout,
    JourneyDefinition,
    RandomSplit,
    SendEmail,
    SendSms,
    Step,
    UpdateContact,
    WaitFor,
    WaitUntil,
)

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
TRANSIENT = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException", RetryLater.__name__]
STOPPED = "tern:stopped"  # ":" is not allowed in step ids, so no step can collide with it
END = "tern:end"  # where a Choice sends a branch with no next step (a Choice cannot end an execution itself)
RETRY = [{"ErrorEquals": TRANSIENT, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0}]


def _payload(step: Step, token: bool = False, phase: str = "step") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "phase": phase,
        "step": step.id,
        "journey.$": "$.journey",
        "contact_id.$": "$.contact_id",
        "run_id.$": "$.run_id",
        "execution.$": "$$.Execution.Name",
        "contact.$": "$.contact",
    }
    if token:
        payload["token.$"] = "$$.Task.Token"
    return payload


def _then(state: dict[str, Any], target: str | None) -> dict[str, Any]:
    if target:
        state["Next"] = target
    else:
        state["End"] = True
    return state


def compile_journey(definition: JourneyDefinition, step_function_arn: str) -> dict[str, Any]:
    """The ASL document (a dict; json.dumps it for CreateStateMachine)."""
    states: dict[str, Any] = {}

    def task(step: Step, **extra: Any) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": step_function_arn, "Payload": _payload(step)},
            "ResultPath": None,
            "Retry": RETRY,
            "Catch": [{"ErrorEquals": [ContactStopped.__name__], "ResultPath": None, "Next": STOPPED}],
            **extra,
        }

    for step in definition.steps:
        if isinstance(step, (SendEmail, SendSms, UpdateContact)):
            states[step.id] = _then(task(step), step.next)
        elif isinstance(step, BranchOnEvent):
            states[step.id] = _then(
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE + ".waitForTaskToken",
                    "Parameters": {"FunctionName": step_function_arn, "Payload": _payload(step, token=True)},
                    "TimeoutSecondsPath": f"$.timeouts.{step.id}",
                    "ResultPath": None,
                    "Retry": RETRY,
                    "Catch": [
                        {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": f"{step.id}:timeout"},
                        {"ErrorEquals": [ContactStopped.__name__], "ResultPath": None, "Next": STOPPED},
                    ],
                },
                step.yes,
            )
            timeout = task(step)
            timeout["Parameters"]["Payload"] = _payload(step, phase="timeout")
            states[f"{step.id}:timeout"] = _then(timeout, step.no)
        elif isinstance(step, WaitUntil):
            states[step.id] = _then({"Type": "Wait", "TimestampPath": f"$.waits.{step.id}"}, step.next)
        elif isinstance(step, WaitFor):
            states[step.id] = _then({"Type": "Wait", "SecondsPath": f"$.waits.{step.id}"}, step.next)
        elif isinstance(step, End):
            states[step.id] = {"Type": "Succeed"}
        elif isinstance(step, RandomSplit):
            choices, upper = [], 0
            for branch in step.branches[:-1]:
                upper += branch.percent
                choices.append({"Variable": f"$.buckets.{step.id}", "NumericLessThan": upper, "Next": branch.next or END})
            states[step.id] = {"Type": "Choice", "Choices": choices, "Default": step.branches[-1].next or END}
        elif isinstance(step, Holdout):
            held = task(step)
            held["Parameters"]["Payload"] = _payload(step, phase="held_out")
            states[f"{step.id}:held_out"] = _then(held, None)
            states[step.id] = {
                "Type": "Choice",
                "Choices": [{"Variable": f"$.buckets.{step.id}", "NumericLessThan": step.percent, "Next": f"{step.id}:held_out"}],
                "Default": step.next or END,
            }
    states[STOPPED] = {"Type": "Succeed", "Comment": "the contact was stopped or blocked at a step, which recorded why"}
    if any(isinstance(s, (RandomSplit, Holdout)) for s in definition.steps):
        states[END] = {"Type": "Succeed", "Comment": "a split branch or holdout with no next step ends the path"}
    return {
        "Comment": f"Tern journey: {definition.name}"[:200],
        "StartAt": definition.start,
        "States": states,
    }
