"""Powertools Idempotency: a retried invocation gets the first one's answer, and the side effect behind it
(a send) happens once. In the cloud the records live in the one table, under their own partition, and expire
by TTL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def table_records(table_name: str, partition: str, session: Any | None = None) -> BasePersistenceLayer:
    """Idempotency records in the one table: PK `partition`, SK the key, `expires_at` the TTL."""
    return DynamoDBPersistenceLayer(
        table_name=table_name, key_attr="PK", sort_key_attr="SK", static_pk_value=partition, expiry_attr="expires_at",
        boto3_session=session,
    )  # fmt: skip


def once_per_key(
    run: Callable[[dict[str, Any]], dict[str, Any]], records: BasePersistenceLayer, key_path: str, expires_after_seconds: int
) -> Handler:
    """A Lambda handler running `run(event)` at most once per key (`key_path`, JMESPath over the event)."""
    config = IdempotencyConfig(event_key_jmespath=key_path, expires_after_seconds=expires_after_seconds)

    @idempotent_function(data_keyword_argument="request", persistence_store=records, config=config)
    def once(request: dict[str, Any]) -> dict[str, Any]:
        return run(request)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        config.register_lambda_context(context)  # a record outliving the invocation's timeout is not trusted
        return once(request=event)

    return handler
