"""Admin API function: API Gateway (REST, Cognito authorizer) -> tern.api.app."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.api.app import handle
from tern.observability import logger, metrics, tracer
from tern.services import api_services
from tern.settings import ApiSettings

services = api_services(ApiSettings())  # type: ignore[call-arg]  # read once, at cold start


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, services)
