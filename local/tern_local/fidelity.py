"""Where moto behaves differently from AWS in a way Tern's guarantees depend on, made to behave as AWS does.

- DynamoDB checks a write's condition and makes the write as one step, per item. moto checks and then
  writes in two Python steps, so two threads could both pass the same condition (two sends both under a
  cap): one lock around each of moto's writes makes them as atomic as DynamoDB's.
- A Step Functions Wait on a timestamp ends at or after that time. moto's interpreter waits the whole
  seconds to it, rounded down, so it wakes up to a second early (ten minutes of a 600-times clock, a send
  before its window opened): the wait is rounded up.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import threading
from typing import Any

_LOCK = threading.RLock()
WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")  # transact deep-copies every table


def atomic_dynamodb_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "__atomic__", False):
            continue

        @functools.wraps(original)
        def write(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(self, *args, **kwargs)

        write.__atomic__ = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, write)


def waits_end_on_time() -> None:
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp

    def wait_seconds(self: Any, env: Any) -> int:
        self.string.eval(env=env)
        text = env.stack.pop()
        at = self._from_timestamp_string(timestamp=text)
        if at is None:
            from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException

            raise FailureEventException(self._create_failure_event(env, text))
        return math.ceil((at - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds())

    Timestamp._get_wait_seconds = wait_seconds  # type: ignore[method-assign]


def as_aws_does() -> None:
    atomic_dynamodb_writes()
    waits_end_on_time()
