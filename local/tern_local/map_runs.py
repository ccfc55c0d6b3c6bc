"""A Distributed Map fails when its failed items pass the tolerated threshold, as in AWS.

moto's interpreter runs a Distributed Map's child executions but ignores their failures (its map run record
says "TODO: add support for failure toleration fields"): a Map whose every item failed succeeds. In AWS the
Map Run fails with States.ExceedToleratedFailureThreshold once the failed items pass ToleratedFailureCount
or ToleratedFailurePercentage (both 0 unless the state sets them: any failed item fails the Map). A refresh
relies on that (a batch of the membership difference that failed must not be committed), so the local stack
enforces it.
"""

from __future__ import annotations

from typing import Any

CAUSE = "The specified tolerated failure threshold was exceeded"


def enforce_tolerated_failures() -> None:
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
        DistributedIterationComponent,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    if getattr(DistributedIterationComponent._map_run, "__enforced_by_tern__", False):
        return
    original = DistributedIterationComponent._map_run

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        original(self, env, eval_input)
        record = eval_input.map_run_record
        failed, total = record.item_counter.failed.get(), record.item_counter.total.get()
        # one threshold set: that one decides; none set: both are 0 and any failure fails the Map
        if failed > record.tolerated_failure_count and failed * 100 > record.tolerated_failure_percentage * max(total, 1):
            env.stack.pop()  # the outputs the Map would have returned
            error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
            raise FailureEventException(FailureEvent(
                env=env, error_name=error, event_type=HistoryEventType.MapRunFailed,
                event_details=EventDetails(mapRunFailedEventDetails=MapRunFailedEventDetails(error=error.error_name, cause=CAUSE)),  # type: ignore[typeddict-item]
            ))  # fmt: skip

    _map_run.__enforced_by_tern__ = True  # type: ignore[attr-defined]
    DistributedIterationComponent._map_run = _map_run  # type: ignore[method-assign]
