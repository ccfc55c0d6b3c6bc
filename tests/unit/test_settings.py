"""Each function reads its own settings at cold start: a variable template.yaml fails to set fails the cold start,
naming it, and each function's class asks for what it builds (tern/settings.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from pydantic import ValidationError

from tern import settings

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {
    "TERN_TABLE_NAME": "tern", "TERN_LAKE_BUCKET": "lake", "TERN_RESULTS_BUCKET": "results", "TERN_GLUE_DATABASE": "tern",
    "TERN_ATHENA_WORKGROUP": "tern", "TERN_SCHEDULE_GROUP": "tern", "TERN_SCHEDULER_ROLE_ARN": "arn:role/s",
    "TERN_REFRESH_MACHINE_ARN": "arn:sm/e", "TERN_JOURNEY_RUN_MACHINE_ARN": "arn:sm/r", "TERN_JOURNEY_STEP_FUNCTION_ARN": "arn:fn/s",
    "TERN_JOURNEY_RUN_FUNCTION_ARN": "arn:fn/r",
    "TERN_EXPORT_FUNCTION_ARN": "arn:fn/x", "TERN_STATE_MACHINE_ROLE_ARN": "arn:role/m", "TERN_FAILURES_QUEUE_ARN": "arn:sqs/f",
    "TERN_UNSUBSCRIBE_SECRET_ARN": "arn:secret/u", "TERN_SES_ARN_PREFIX": "arn:aws:ses:eu-west-1:123456789012",
    "TERN_SENDING_PREFIX": "tern-dev", "TERN_EVENT_BUS_ARN": "arn:aws:events:eu-west-1:123456789012:event-bus/default",
}  # fmt: skip


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [*ADMIN, "TERN_EMAIL_SENDER", "TERN_EVENTS_STREAM", "TERN_REGION", "TERN_SES_CONFIGURATION_SET", "TERN_PUBLIC_URL"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_missing_variable_fails_the_cold_start_naming_it(environment: pytest.MonkeyPatch) -> None:
    for name, value in ADMIN.items():
        if name != "TERN_EXPORT_FUNCTION_ARN":
            environment.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        settings.ApiSettings()  # type: ignore[call-arg]
    assert [e["loc"] for e in caught.value.errors()] == [("export_function_arn",)]


def test_the_api_function_refuses_to_start_without_its_settings(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TERN_TABLE_NAME", "tern")
    spec = importlib.util.spec_from_file_location("api_without_settings", ROOT / "functions" / "api" / "app.py")
    assert spec and spec.loader
    with pytest.raises(ValidationError, match="lake_bucket"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def test_journey_step_needs_the_sending_settings_and_not_the_query_settings(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TERN_TABLE_NAME", "tern")
    environment.setenv("TERN_LAKE_BUCKET", "lake")
    with pytest.raises(ValidationError, match="ses_arn_prefix"):  # the orgs' sending domains' tenants and configuration sets
        settings.JourneyStepSettings()  # type: ignore[call-arg]
    for name in ("TERN_SES_ARN_PREFIX", "TERN_SENDING_PREFIX", "TERN_EVENT_BUS_ARN"):
        environment.setenv(name, ADMIN[name])
    with pytest.raises(ValidationError, match="unsubscribe_secret_arn"):  # every e-mail carries a signed unsubscribe link
        settings.JourneyStepSettings()  # type: ignore[call-arg]
    environment.setenv("TERN_UNSUBSCRIBE_SECRET_ARN", "arn:secret/u")
    environment.setenv("TERN_PUBLIC_URL", "https://tern.example.com")
    assert settings.JourneyStepSettings().events_stream is None  # type: ignore[call-arg]  # unset: events as lake files
    assert settings.JourneyStepSettings().email_sender is None  # type: ignore[call-arg]  # no stack sender: content names its From
    assert settings.FunctionSettings().table_name == "tern"  # type: ignore[call-arg]
