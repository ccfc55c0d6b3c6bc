"""Segment refresh function: one stage of a refresh, as statemachines/refresh_segment.asl.json asks for it -> tern.usecases.refresh."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.observability import logger, metrics, tracer
from tern.services import admin_services
from tern.settings import AdminSettings
from tern.usecases.refresh import refresh_stage

services = admin_services(AdminSettings())  # type: ignore[call-arg]  # read once, at cold start


@logger.inject_lambda_context(correlation_id_path="evaluation_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return refresh_stage(event, services)
