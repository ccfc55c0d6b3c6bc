"""The one settings model: read from the environment once, at cold start. Logic never reads os.environ."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Names and ARNs the functions need; template.yaml sets them as TERN_* variables."""

    model_config = SettingsConfigDict(env_prefix="TERN_", extra="ignore", frozen=True)

    table_name: str
    results_bucket: str
    lake_bucket: str
    glue_database: str
    athena_workgroup: str
    schedule_group: str
    evaluate_function_arn: str
    scheduler_role_arn: str
    journey_step_function_arn: str = ""
    journey_run_function_arn: str = ""
    state_machine_role_arn: str = ""
    export_function_arn: str = ""
    email_sender: str = ""
    ses_configuration_set: str | None = None
    events_stream: str | None = None  # the Firehose delivery stream for events Tern writes; else Parquet files in the lake
    region: str | None = None
