"""Journey run function: {"org_id", "journey_id"} (from the API, a schedule or a segment refresh) -> tern.usecases.journeys."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.observability import logger, metrics, tracer
from tern.services import admin_services
from tern.settings import JourneyRunSettings
from tern.usecases.journeys import RunRequest, run_journey

services = admin_services(JourneyRunSettings())  # type: ignore[call-arg]  # read once, at cold start


@logger.inject_lambda_context(correlation_id_path="journey_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_journey(RunRequest.model_validate(event), services)
