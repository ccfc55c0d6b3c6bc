"""Admin API function: API Gateway (REST, Cognito authorizer) -> tern.api.routes."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.api.routes import app, configure
from tern.observability import logger, metrics, tracer
from tern.services import cloud_services
from tern.settings import Settings

configure(cloud_services(Settings()))  # type: ignore[call-arg]  # read once, at cold start


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
