"""Journey step function: a journey state machine's Task payload -> tern.journeys.steps.

Idempotent per (journey version, contact, step, phase) with Powertools Idempotency on the one table: a
retried invocation returns the first one's answer and never sends twice. ContactStopped and RetryLater
propagate, for the state machine's Catch and Retry.
"""

from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.channels.email import SesEmail
from tern.channels.sms import SnsSms
from tern.journeys.aws import SfnTokens
from tern.journeys.steps import JourneySteps, StepRequest
from tern.observability import logger, metrics, tracer
from tern.services import cloud_services
from tern.settings import Settings

settings = Settings()  # type: ignore[call-arg]  # read once, at cold start
services = cloud_services(settings)
assert services.journey_repository and services.content and services.engagement and services.runtime
session = boto3.session.Session(region_name=settings.region)
steps = JourneySteps(
    journeys=services.journey_repository,
    content=services.content,
    engagement=services.engagement,
    email=SesEmail(session.client("sesv2"), settings.email_sender, settings.ses_configuration_set),
    sms=SnsSms(session.client("sns")),
    events=services.runtime.events,
    tokens=SfnTokens(services.runtime.sfn),
    overlay=services.overlay,
    clock=services.clock,
)
persistence = DynamoDBPersistenceLayer(
    table_name=settings.table_name, key_attr="PK", sort_key_attr="SK", static_pk_value="IDEMPOTENCY#journey-step", expiry_attr="expires_at"
)
config = IdempotencyConfig(event_key_jmespath="[journey.org_id, journey.id, journey.version, contact_id, step, phase]", expires_after_seconds=7 * 86400)


@idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
def run_step(request: dict[str, Any]) -> dict[str, Any]:
    return steps.run(StepRequest.model_validate(request))


@logger.inject_lambda_context(correlation_id_path="contact_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config.register_lambda_context(context)
    return run_step(request=event)
