"""Export function: {"org_id", "kind": "export"|"action", "id", "segment_id"} (invoked asynchronously by the
API, or when an evaluation ends for planned jobs) -> tern.exports.jobs.JobRunner."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.exports.jobs import JobRequest
from tern.observability import logger, metrics, tracer
from tern.services import cloud_services
from tern.settings import Settings

services = cloud_services(Settings())  # type: ignore[call-arg]  # read once, at cold start


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = JobRequest.model_validate(event)
    return services.job_runner(request.org_id).run(request)
