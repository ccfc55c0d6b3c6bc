"""Secrets Manager: the stack's own secrets, read once at cold start."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.errors import StoreError


def secret_bytes(secretsmanager_client: Any, secret_id: str) -> bytes:
    """The secret's value (its SecretString as UTF-8); StoreError naming the secret when it cannot be read."""
    try:
        value = secretsmanager_client.get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError) as e:
        raise StoreError(f"reading the secret {secret_id}: {e}") from None
    return str(value["SecretString"]).encode()
