"""Journey run function: one stage of a journey's run, as statemachines/journey_run.asl.json asks for it -> tern.usecases.journeys."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.observability import logger, metrics, tracer
from tern.services import admin_services
from tern.settings import AdminSettings
from tern.usecases.journeys import run_stage

services = admin_services(AdminSettings())  # type: ignore[call-arg]  # read once, at cold start


@logger.inject_lambda_context(correlation_id_path="run_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_stage(event, services)
