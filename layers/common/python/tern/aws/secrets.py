"""Secrets Manager: the stack's own secrets, read once at cold start."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.aws import error_code
from tern.errors import StoreError


def secret_bytes(secretsmanager_client: Any, secret_id: str) -> bytes:
    """The secret's value (its SecretString as UTF-8); StoreError naming the secret when it cannot be read."""
    try:
        value = secretsmanager_client.get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError) as e:
        raise StoreError(f"reading the secret {secret_id}: {e}") from None
    return str(value["SecretString"]).encode()


class SecretsManagerSecrets:
    """tern.ports.SigningSecrets in Secrets Manager: one secret a destination. A rotation puts a new version, which
    Secrets Manager labels AWSCURRENT while the one before keeps AWSPREVIOUS."""

    def __init__(self, client: Any):
        self._secrets = client

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self._secrets, operation)(**request))
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"Secrets Manager {operation} {request.get('Name') or request.get('SecretId')}: {e}") from None

    def create(self, name: str, value: str) -> None:
        self._call("create_secret", Name=name, SecretString=value, Description="A Tern webhook destination's signing secret")

    def rotate(self, name: str, value: str) -> None:
        self._call("put_secret_value", SecretId=name, SecretString=value)

    def current(self, name: str) -> str:
        return str(self._call("get_secret_value", SecretId=name)["SecretString"])

    def previous(self, name: str) -> str | None:
        try:
            return str(self._secrets.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"])
        except ClientError as e:
            if error_code(e) == "ResourceNotFoundException":  # never rotated: there is no previous version
                return None
            raise StoreError(f"Secrets Manager get_secret_value {name} (previous): {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"Secrets Manager get_secret_value {name} (previous): {e}") from None

    def delete(self, name: str) -> None:
        try:
            self._secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except ClientError as e:
            if error_code(e) != "ResourceNotFoundException":
                raise StoreError(f"Secrets Manager delete_secret {name}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"Secrets Manager delete_secret {name}: {e}") from None
