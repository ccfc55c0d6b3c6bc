"""Ingest events function: EventBridge (SES engagement, SMS receipts) -> tern.journeys.ingest."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.journeys.aws import SfnTokens
from tern.journeys.ingest import Ingest
from tern.observability import logger, metrics, tracer
from tern.services import cloud_services
from tern.settings import Settings

services = cloud_services(Settings())  # type: ignore[call-arg]  # read once, at cold start
assert services.engagement and services.runtime
ingest = Ingest(services.engagement, services.runtime.events, SfnTokens(services.runtime.sfn), services.clock)


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return ingest.handle(event)
