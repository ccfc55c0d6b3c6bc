"""Each function's settings: read from the environment once, at cold start. Logic never reads os.environ.

template.yaml sets TERN_* variables (in Globals). A function reads its own class, whose every field it
needs: a missing variable fails the cold start with pydantic's error naming it, not the first request
that happens to use it. The local stack resolves the same variables from template.yaml.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class FunctionSettings(BaseSettings):
    """What every function works with: the one table and the lake bucket, and where its own events go."""

    model_config = SettingsConfigDict(env_prefix="TERN_", extra="ignore", frozen=True)

    table_name: str
    lake_bucket: str
    events_stream: str | None = None  # the Firehose delivery stream for events Tern writes; unset: Parquet files in the lake
    region: str | None = None  # unset: the Lambda runtime's own region


class PreviewSettings(FunctionSettings):
    """The preview function's (tern.engines.quick): where it keeps its copies of the orgs' lakes, and how much of them."""

    copy_dir: str = "/tmp/tern-lake"  # the function's ephemeral storage (EphemeralStorage in template.yaml)
    copy_room_mb: int = 8192  # copies of orgs' lakes kept at most; an org's larger than this counts through Athena
    duckdb_memory_mb: int | None = None  # unset: DuckDB's default, 80% of what the function has


class QuerySettings(FunctionSettings):
    """Functions that query the lake (Athena over the Glue catalog) and write results."""

    results_bucket: str
    glue_database: str
    athena_workgroup: str


class AdminSettings(QuerySettings):
    """Functions that act on segments, journeys and jobs, and so start the functions and schedules behind them."""

    schedule_group: str
    scheduler_role_arn: str
    refresh_machine_arn: str  # the refresh state machine (statemachines/refresh_segment.asl.json)
    journey_run_machine_arn: str  # the run state machine (statemachines/journey_run.asl.json)
    journey_step_function_arn: str
    webhook_secret_prefix: str = "tern-local-webhook"  # destinations' signing secrets in Secrets Manager (tern-<stage>-webhook)
    journey_machine_prefix: str = "tern_local"  # journeys' state machines: <prefix>_<org digest>-<journey> (tern_<stage>)
    journey_run_function_arn: str  # also each org's check of its SMS opt-out list (tern.journeys.opt_outs)
    export_function_arn: str
    state_machine_role_arn: str
    failures_queue_arn: str  # where a schedule's event goes when its target keeps failing
    webhooks_allow_loopback: bool = False  # webhooks to 127.0.0.1: the local stack and tests only
    ad_secret_prefix: str = "tern-local-adaccount"  # connected ad accounts' credentials in Secrets Manager (tern-<stage>-adaccount)
    meta_graph_url: str = "https://graph.facebook.com"  # Meta's Graph API (a stand-in's in tests)
    google_data_manager_url: str = "https://datamanager.googleapis.com"  # Google's Data Manager API
    google_token_url: str = "https://oauth2.googleapis.com/token"  # Google's OAuth token endpoint


class SendingSettings(BaseSettings):
    """What the orgs' sending domains need (tern.journeys.senders): the names and ARNs of the stack's SES resources."""

    model_config = SettingsConfigDict(env_prefix="TERN_", extra="ignore", frozen=True)

    ses_arn_prefix: str  # arn:<partition>:ses:<region>:<account>: identities' and configuration sets' ARNs start so
    sending_prefix: str  # each org's SES tenant and configuration set is <prefix>-<org> (tern-<stage>)
    event_bus_arn: str  # the default bus, where each org's configuration set publishes engagement events
    email_sender: str | None = None  # the stack's own From address (SenderAddress), for content that names none
    sms_origination: str | None = None  # the stack's own SMS number or pool (SmsOriginationIdentity), for orgs without one
    postal_address: str | None = None  # the stack's (PostalAddress), shown in e-mail of an org that set none of its own


class ApiSettings(AdminSettings, SendingSettings):
    """The api function, which also answers recipients' unsubscribe links (tern.api.recipients)."""

    unsubscribe_secret_arn: str  # Secrets Manager: the key unsubscribe links are signed with
    ses_configuration_set: str | None = None  # test sends go through it, as journeys' sends do
    preview_function_arn: str | None = None  # the quick path for the editor's counts (tern.engines.quick); unset: Athena
    preview_wait_seconds: float = 20.0  # how long a preview waits for that function before counting through Athena
    org_query_limit: int = 10  # lake queries one org's API requests run at once (OrgQueryLimit; tern.store.query_slots)


class JourneyStepSettings(FunctionSettings, SendingSettings):
    """journey_step: sends, as the org's sending domain (or the stack's sender), through its tenant and configuration set."""

    ses_configuration_set: str | None = None  # unset: no engagement events from SES
    unsubscribe_secret_arn: str  # Secrets Manager: the key every e-mail's unsubscribe link is signed with
    public_url: str  # where recipients reach the stack: the links' https://HOST (the console's distribution)
    webhooks_allow_loopback: bool = False  # webhook steps to 127.0.0.1: the local stack and tests only
