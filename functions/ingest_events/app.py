"""Ingest events function: EventBridge (SES engagement, SMS receipts) -> tern.journeys.ingest."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.observability import logger, metrics, tracer
from tern.services import ingest_events
from tern.settings import FunctionSettings

ingest = ingest_events(FunctionSettings())  # type: ignore[call-arg]  # read once, at cold start


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return ingest.handle(event)
