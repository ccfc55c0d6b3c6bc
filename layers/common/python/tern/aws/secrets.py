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

    def __init__(self, client: Any, description: str = "A Tern webhook destination's signing secret"):
        self._secrets, self._description = client, description

    def _call(self, operation: str, missing_ok: bool = False, **request: Any) -> dict[str, Any] | None:
        """The call's answer; None when `missing_ok` and Secrets Manager has no such secret (or version)."""
        what = f"Secrets Manager {operation} {request.get('Name') or request.get('SecretId')}"
        try:
            return dict(getattr(self._secrets, operation)(**request))
        except ClientError as e:
            if missing_ok and error_code(e) == "ResourceNotFoundException":
                return None
            raise StoreError(f"{what}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"{what}: {e}") from None

    def create(self, name: str, value: str) -> None:
        self._call("create_secret", Name=name, SecretString=value, Description=self._description)

    def rotate(self, name: str, value: str) -> None:
        self._call("put_secret_value", SecretId=name, SecretString=value)

    def current(self, name: str) -> str:
        found = self._call("get_secret_value", SecretId=name)
        assert found is not None
        return str(found["SecretString"])

    def previous(self, name: str) -> str | None:
        found = self._call("get_secret_value", missing_ok=True, SecretId=name, VersionStage="AWSPREVIOUS")  # never rotated: none
        return str(found["SecretString"]) if found else None

    def delete(self, name: str) -> None:
        self._call("delete_secret", missing_ok=True, SecretId=name, ForceDeleteWithoutRecovery=True)
