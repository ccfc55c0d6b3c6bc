"""Journey step function: a journey state machine's Task payload -> tern.journeys.steps, once per key.

Idempotent per (journey version, contact, step, phase) with Powertools Idempotency on the one table: a
retried invocation returns the first one's answer and never sends twice. ContactStopped and RetryLater
propagate, for the state machine's Catch and Retry.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.observability import logger, metrics, tracer
from tern.services import journey_step
from tern.settings import JourneyStepSettings

run_step = journey_step(JourneyStepSettings())  # type: ignore[call-arg]  # read once, at cold start


@logger.inject_lambda_context(correlation_id_path="contact_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_step(event, context)
