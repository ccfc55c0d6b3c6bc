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
- wait_until: a Wait on `$.waits.<step>` (a timestamp; one already past proceeds at once). From a field: a
  Choice first, `$.waits.<step>` null (no time) going to `no_value`, or to `<step>:no_date`, a Task recording
  no_date that ends the path: two transitions.
- wait_for: a Wait on `$.waits.<step>` (seconds).
- end: a Succeed state; a step with no next ends the execution itself (no extra transition).
- random_split, holdout, split, multi_split (decisions): a Task invoking journey_step, which decides the way
  (a random split by the contact's bucket, a digest of journey, step and contact; a split by evaluating its
  condition then), records it and answers `{"way": EDGE}` (yes, no, branches[i], else, next, held_out), then
  `<step>:route`, a Choice on that answer: two transitions. A split's `after` adds a Wait on
  `$.waits.<step>` before the Task (the Task is then `<step>:decide`): three. The held-out and the ways
  with no next step go to the shared `tern:end`.

- send_email, send_sms in a journey with a send window or closed dates: the Task answers
  `{"way": "next" | "wait", "until"}`, then `<step>:route`, a Choice: on to the next step (two transitions),
  or through `<step>:window`, a Wait until the opening, to `<step>:open`, the Task that sends then (four).

The shared pieces (the Task's retry and catch policy, the payload) are here rather than in a file under
statemachines/ because they must ship in the Lambda layer with the compiler that uses them.
"""

from __future__ import annotations

from typing import Any

from tern.errors import ContactStopped, RetryLater
from tern.journeys.model import (
    DECISIONS,
    BranchOnEvent,
    End,
    JourneyDefinition,
    MultiSplit,
    SendEmail,
    SendSms,
    Split,
    Step,
    UpdateContact,
    WaitFor,
    WaitUntil,
    Webhook,
    successors,
)

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    RetryLater.__name__,
]
STOPPED = "tern:stopped"  # ":" is not allowed in step ids, so no step can collide with it
END = "tern:end"  # where a Choice sends a branch with no next step (a Choice cannot end an execution itself)
RETRY = [{"ErrorEquals": TRANSIENT, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0}]


def _payload(step: Step, token: bool = False, phase: str = "step", event: bool = False) -> dict[str, Any]:
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
    if event:  # an event-triggered journey's executions carry the entering event
        payload["entry_event.$"] = "$.entry_event"
    return payload


def _then(state: dict[str, Any], target: str | None) -> dict[str, Any]:
    if target:
        state["Next"] = target
    else:
        state["End"] = True
    return state


def _decision(step: Step, task: dict[str, Any], states: dict[str, Any]) -> None:
    """A decision step's states: [a Wait for `after`,] the Task answering the way, the Choice taking it."""
    name = step.id
    if isinstance(step, (Split, MultiSplit)) and step.after is not None:
        name = f"{step.id}:decide"
        states[step.id] = {"Type": "Wait", "SecondsPath": f"$.waits.{step.id}", "Next": name}
    ways = [{"Variable": "$.decided.edge", "StringEquals": edge, "Next": target} for edge, target in successors(step)]
    states[name] = {
        **task,
        "ResultSelector": {"edge.$": "$.Payload.way"},
        "ResultPath": "$.decided",
        "Next": f"{step.id}:route" if ways else END,
    }
    if ways:
        states[f"{step.id}:route"] = {"Type": "Choice", "Choices": ways, "Default": END}


def _windowed_send(step: SendEmail | SendSms, task: dict[str, Any], opened: dict[str, Any], states: dict[str, Any]) -> None:
    states[step.id] = {**task, "ResultSelector": {"edge.$": "$.Payload.way", "until.$": "$.Payload.until"}, "ResultPath": "$.decided",
                       "Next": f"{step.id}:route"}  # fmt: skip
    states[f"{step.id}:route"] = {"Type": "Choice", "Choices": [{"Variable": "$.decided.edge", "StringEquals": "wait", "Next": f"{step.id}:window"}],
                                  "Default": step.next or END}  # fmt: skip
    states[f"{step.id}:window"] = {"Type": "Wait", "TimestampPath": "$.decided.until", "Next": f"{step.id}:open"}
    states[f"{step.id}:open"] = _then(opened, step.next)


def compile_journey(definition: JourneyDefinition, step_function_arn: str) -> dict[str, Any]:
    """The ASL document (a dict; json.dumps it for CreateStateMachine)."""
    states: dict[str, Any] = {}
    windowed = definition.send_window is not None or bool(definition.closed_dates)

    event = definition.by_event()

    def task(step: Step, phase: str = "step", **extra: Any) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": step_function_arn, "Payload": _payload(step, phase=phase, event=event)},
            "ResultPath": None,
            "Retry": RETRY,
            "Catch": [{"ErrorEquals": [ContactStopped.__name__], "ResultPath": None, "Next": STOPPED}],
            **extra,
        }

    for step in definition.steps:
        if isinstance(step, (SendEmail, SendSms)) and windowed:
            _windowed_send(step, task(step), task(step, phase="opened"), states)
        elif isinstance(step, (SendEmail, SendSms, UpdateContact, Webhook)):
            states[step.id] = _then(task(step), step.next)
        elif isinstance(step, BranchOnEvent):
            states[step.id] = _then(
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE + ".waitForTaskToken",
                    "Parameters": {"FunctionName": step_function_arn, "Payload": _payload(step, token=True, event=event)},
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
            states[f"{step.id}:timeout"] = _then(task(step, phase="timeout"), step.no)
        elif isinstance(step, WaitUntil) and step.from_ is not None:  # a time from a field: none takes no_value
            states[step.id] = {"Type": "Choice", "Choices": [{"Variable": f"$.waits.{step.id}", "IsNull": True, "Next": step.no_value or f"{step.id}:no_date"}],
                               "Default": f"{step.id}:wait"}  # fmt: skip
            states[f"{step.id}:wait"] = _then({"Type": "Wait", "TimestampPath": f"$.waits.{step.id}"}, step.next)
            if step.no_value is None:
                states[f"{step.id}:no_date"] = _then(task(step, phase="no_date"), None)
        elif isinstance(step, WaitUntil):
            states[step.id] = _then({"Type": "Wait", "TimestampPath": f"$.waits.{step.id}"}, step.next)
        elif isinstance(step, WaitFor):
            states[step.id] = _then({"Type": "Wait", "SecondsPath": f"$.waits.{step.id}"}, step.next)
        elif isinstance(step, End):
            states[step.id] = {"Type": "Succeed"}
        elif isinstance(step, DECISIONS):
            _decision(step, task(step), states)
    states[STOPPED] = {"Type": "Succeed", "Comment": "the contact was stopped or blocked at a step, which recorded why"}
    if windowed or any(isinstance(s, DECISIONS) for s in definition.steps):
        states[END] = {"Type": "Succeed", "Comment": "a decision's way with no next step (and the held-out) ends the path"}
    return {
        "Comment": f"Tern journey: {definition.name}"[:200],
        "StartAt": definition.start,
        "States": states,
    }
