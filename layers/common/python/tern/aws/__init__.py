"""Every AWS call Tern makes, each behind a small interface of tern.ports (or the Table of tern.aws.dynamodb).

boto3's ClientError and BotoCoreError stop here: a call that fails becomes StoreError with what it was
doing (or ConflictError, RetryLater where the caller can act on it). Nothing above this package imports
boto3 or botocore (the import contract in pyproject.toml checks it); the query engines speak to Athena
themselves, behind tern.engines.QueryEngine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tern.errors import RetryLater, SendRejected, StoreError


class Clients:
    """boto3 clients of one session, made when first asked for (a function builds only what it uses)."""

    def __init__(self, region: str | None = None, session: Any | None = None):
        self.session = session or boto3.session.Session(region_name=region)
        self._made: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = self.session.client(service)
        return self._made[service]

    def table(self, name: str) -> Any:
        """The boto3 resource of a DynamoDB table."""
        return self.session.resource("dynamodb").Table(name)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "")


@contextmanager
def failing_as_store_error(what: str) -> Iterator[None]:
    """Any AWS failure inside becomes StoreError("<what>: <the error>")."""
    try:
        yield
    except (ClientError, BotoCoreError) as e:
        raise StoreError(f"{what}: {e}") from None


@contextmanager
def sending(provider: str, throttled: set[str], rejected: set[str]) -> Iterator[None]:
    """A send's failures as the journey step acts on them: throttling and the network are RetryLater (the state
    machine retries), a message the provider refuses for good is SendRejected, anything else StoreError."""
    try:
        yield
    except ClientError as e:
        if error_code(e) in throttled:
            raise RetryLater(f"{provider} throttled: {e}") from None
        if error_code(e) in rejected:
            raise SendRejected(f"{provider} refused the message: {e.response.get('Error', {}).get('Message') or error_code(e)}") from None
        raise StoreError(f"{provider} refused the message: {e}") from None
    except BotoCoreError as e:
        raise RetryLater(f"{provider} unreachable: {e}") from None
