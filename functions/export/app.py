"""Export function: {"org_id", "kind": "export"|"action", "id", "segment_id"} (invoked asynchronously by the
API, or when an evaluation ends for planned jobs) -> tern.usecases.jobs."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.exports.jobs import JobRequest
from tern.observability import logger, metrics, tracer
from tern.services import admin_services
from tern.settings import AdminSettings
from tern.usecases.jobs import run_job

services = admin_services(AdminSettings())  # type: ignore[call-arg]  # read once, at cold start


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_job(JobRequest.model_validate(event), services)
