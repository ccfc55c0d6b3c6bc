"""The composition root: every part a function works with, built once per process from its settings and a Runtime.

A Runtime is the world outside Tern: AWS clients, the query engine, the lake's files, where events go and the
clock. In the cloud it is AWS (Athena, S3, Firehose, the real clock). Anything else (the local stack: moto,
DuckDB, a folder, a compressed clock; tests) hands its own Runtime to `use_runtime` before importing the
functions: that is the one hook, and nothing patches a module after import.

Only functions/, tern.api and tern.usecases import this module (the import contract in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from tern.audiences.accounts import AdAccounts, Endpoints
from tern.audiences.audiences import Audiences
from tern.audiences.repository import AdAccountRepository, AudienceRepository, SyncRepository
from tern.audiences.sync import AudienceSyncs
from tern.aws.dynamodb import Table
from tern.aws.idempotency import Handler, once_per_key, table_records
from tern.aws.lambdas import LambdaCall, LambdaTrigger
from tern.aws.s3 import S3ResultFiles
from tern.aws.scheduler import EventBridgeScheduler
from tern.aws.secrets import SecretsManagerSecrets, secret_bytes
from tern.aws.ses import SesEmail, SesIdentities
from tern.aws.sms import EndUserMessagingSms, SmsOrigins
from tern.aws.stepfunctions import StepFunctions
from tern.clock import Clock
from tern.engines import QueryEngine
from tern.engines.quick import QuickEngine
from tern.exports.destinations import Destinations
from tern.exports.jobs import JobRunner, Jobs
from tern.exports.repository import ActionRepository, DestinationRepository, ExportRepository, Planned
from tern.exports.webhook import WebhookDeliveries
from tern.imports.links import ImportLinks
from tern.imports.pinpoint.importer import PinpointImporter
from tern.journeys.caps import Ledger, OrgSettings, Throttle
from tern.journeys.engagement import Engagement
from tern.journeys.entry import Starter
from tern.journeys.ingest import Ingest
from tern.journeys.lifecycle import JourneyRuns, Journeys
from tern.journeys.opt_outs import SmsOptOuts, StopRecord
from tern.journeys.preferences import Preferences
from tern.journeys.repository import ContentRepository, JourneyRepository, TestSendRepository
from tern.journeys.senders import SenderRepository, Senders, SmsSenders
from tern.journeys.steps import IDEMPOTENCY_DAYS, IDEMPOTENCY_KEY, JourneySteps
from tern.journeys.tasks import StepRequest
from tern.journeys.triggers import Triggers
from tern.journeys.unsubscribe import Links, Signer
from tern.lists.repository import ListRepository
from tern.ports import (
    Email,
    Events,
    LakeFiles,
    ResultFiles,
    Scheduler,
    SendingIdentities,
    SigningSecrets,
    Sms,
    StateMachines,
    Trigger,
)
from tern.ports import SmsOrigins as SmsOriginsPort
from tern.runtime import Runtime, runtime, use_runtime  # noqa: F401 - the hook, where the local stack has always found it
from tern.segments.lifecycle import Segments
from tern.segments.previews import PreviewRepository
from tern.segments.refreshes import SegmentRefreshes
from tern.segments.repository import SegmentRepository
from tern.segments.suggestions import SuggestionStore
from tern.settings import (
    AdminSettings,
    ApiSettings,
    FunctionSettings,
    JourneyStepSettings,
    SendingSettings,
)
from tern.store.overlay import ContactOverlay
from tern.store.query_slots import OrgQueries, QuerySlots

# ------------------------------------------------------------------------------------------ services


@dataclass(frozen=True)
class Services:
    """What the admin functions (api, evaluate_segment, journey_run, export) work with; per org through the methods."""

    clock: Clock
    engine: QueryEngine
    lake_files: LakeFiles
    events: Events
    segment_repository: SegmentRepository
    lists: ListRepository
    lake_bucket: str  # where refreshes UNLOAD their manifests
    refreshes: SegmentRefreshes
    previews: PreviewRepository
    suggestions: SuggestionStore
    test_sends: TestSendRepository
    overlay: ContactOverlay
    refresh_scheduler: Scheduler
    journey_repository: JourneyRepository
    content: ContentRepository
    machines: StateMachines
    journey_runs: JourneyRuns
    step_function_arn: str
    exports: ExportRepository
    actions: ActionRepository
    destinations: DestinationRepository
    signing_secrets: SigningSecrets
    planned: Planned
    results: ResultFiles
    job_trigger: Trigger
    org_settings: OrgSettings
    import_links: ImportLinks
    webhook_secret_prefix: str = "tern-local-webhook"  # the destinations' secrets in Secrets Manager
    ad_accounts: AdAccountRepository | None = None  # the admin functions': connected ad accounts and audiences
    audience_repository: AudienceRepository | None = None
    syncs: SyncRepository | None = None
    ad_secrets: SigningSecrets | None = None
    ad_secret_prefix: str = "tern-local-adaccount"
    ad_endpoints: Endpoints = Endpoints()
    machine_prefix: str = "tern_local"  # the stage's journeys' state machines are named so (JourneyMachinePrefix)
    sms_opt_outs: SmsOptOuts | None = None  # journey_run's: the orgs' STOP replies, checked on a schedule
    webhooks_allow_loopback: bool = False
    preferences: Preferences | None = None  # the api function's: recipients' links (tern.api.recipients)
    sending: Sending | None = None  # the api function's: the orgs' sending domains (tern.journeys.senders)
    query_slots: QuerySlots | None = None  # the api function's: how many lake queries each org runs at once
    email: Email | None = None  # the api function's: test sends of content (tern.usecases.test_send)
    sms: Sms | None = None
    quick: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # the api function's: the preview function, waited for

    def quick_queries(self, org_id: str, memberships: dict[str, str] | None = None) -> QuickEngine | None:
        """The editor's statements' engine (tern.engines.quick): the org's lake copied next to DuckDB, when the stack has
        a preview function; None: only Athena. Its statements are compiled in its dialect; NotQuick: ask Athena."""
        return None if self.quick is None else QuickEngine(self.quick, org_id, memberships)

    def queries(self, org_id: str, at_once: int = 0) -> QueryEngine:
        """The engine as the org's API requests use it: within the org's query slots (tern.store.query_slots), taking
        `at_once` of them together for the statements a request starts side by side."""
        return self.engine if self.query_slots is None else OrgQueries(self.engine, self.query_slots, org_id, at_once)

    def senders(self, org_id: str) -> Senders:
        if self.sending is None:
            raise AssertionError("this function has no sending domains (tern.services.api_services)")
        return self.sending.senders(org_id)

    def sms_senders(self, org_id: str) -> SmsSenders:
        if self.sending is None:
            raise AssertionError("this function has no SMS senders (tern.services.api_services)")
        return self.sending.sms_senders(org_id)

    def email_port(self) -> Email:
        if self.email is None:
            raise AssertionError("this function sends no e-mail (tern.services.api_services)")
        return self.email

    def sms_port(self) -> Sms:
        if self.sms is None:
            raise AssertionError("this function sends no texts (tern.services.api_services)")
        return self.sms

    def segments(self, org_id: str) -> Segments:
        return Segments(org_id, self.segment_repository, self.refresh_scheduler, self.lists)

    def journeys(self, org_id: str) -> Journeys:
        return Journeys(
            org_id, self.journey_repository, self.content, self.segments(org_id), self.machines, self.journey_runs, self.events,
            self.step_function_arn, self.clock, WebhookDeliveries(self.destinations, self.signing_secrets, self.webhooks_allow_loopback),
            self.sending.senders(org_id) if self.sending else None, self.sending.default_sender if self.sending else None,
            (lambda: self.postal_address(org_id)) if self.sending else None, self.machine_prefix,
        )  # fmt: skip

    def postal_address(self, org_id: str) -> str | None:
        """The postal address every marketing e-mail of the org shows: its own, else the stack's (PostalAddress)."""
        return self.org_settings.messages(org_id).postal_address or (self.sending.default_postal_address if self.sending else None)

    def triggers(self) -> Triggers:
        return Triggers(self.journey_repository, self.segment_repository, self.events, self.clock)

    def jobs(self, org_id: str) -> Jobs:
        return Jobs(
            org_id, self.segments(org_id), self.exports, self.actions, self.destinations, self.planned, self.results, self.job_trigger,
            self.webhooks_allow_loopback,
        )  # fmt: skip

    def job_runner(self, org_id: str) -> JobRunner:
        return JobRunner(self.jobs(org_id), self.engine, self.overlay, self.clock, self.signing_secrets)

    def webhook_destinations(self, org_id: str) -> Destinations:
        return Destinations(
            org_id, self.destinations, self.signing_secrets, self.webhook_secret_prefix, self.clock, self.webhooks_allow_loopback
        )

    def connected_accounts(self, org_id: str) -> AdAccounts:
        if self.ad_accounts is None or self.audience_repository is None or self.ad_secrets is None:
            raise AssertionError("this function has no ad accounts (tern.services.admin_services)")
        return AdAccounts(org_id, self.ad_accounts, self.audience_repository, self.ad_secrets, self.ad_secret_prefix, self.ad_endpoints,
                          self.clock)  # fmt: skip

    def audiences(self, org_id: str) -> Audiences:
        assert self.audience_repository is not None and self.syncs is not None
        return Audiences(org_id, self.audience_repository, self.syncs, self.connected_accounts(org_id), self.segments(org_id),
                         self.job_trigger, self.results, self.clock)  # fmt: skip

    def audience_syncs(self, org_id: str) -> AudienceSyncs:
        return AudienceSyncs(self.audiences(org_id), self.connected_accounts(org_id), self.engine, self.results, self.clock)

    def pinpoint(self, org_id: str) -> PinpointImporter:
        return PinpointImporter(org_id, self.segments(org_id), self.journeys(org_id), self.import_links, self.clock)

    def starter(self) -> Starter:
        return Starter(self.machines, self.journey_repository, self.clock)


def admin_services(settings: AdminSettings) -> Services:
    world = runtime(settings)
    table = Table(world.aws.table(settings.table_name))
    lake_files = world.lake_files(settings)
    lambdas, scheduler = world.aws.client("lambda"), world.aws.client("scheduler")

    machines = StepFunctions(world.aws.client("stepfunctions"), settings.state_machine_role_arn)
    engine, events, overlay = world.engine(settings), world.events(settings), ContactOverlay(lake_files, table)

    def schedules(target_arn: str) -> Scheduler:
        return EventBridgeScheduler(
            scheduler, settings.schedule_group, target_arn, settings.scheduler_role_arn, settings.failures_queue_arn
        )

    return Services(
        clock=world.clock,
        engine=engine,
        lake_files=lake_files,
        events=events,
        segment_repository=SegmentRepository(table),
        lists=ListRepository(table),
        lake_bucket=settings.lake_bucket,
        refreshes=SegmentRefreshes(machines, settings.refresh_machine_arn),
        previews=PreviewRepository(table),
        suggestions=SuggestionStore(table),
        test_sends=TestSendRepository(table),
        overlay=overlay,
        refresh_scheduler=schedules(settings.refresh_machine_arn),
        journey_repository=JourneyRepository(table),
        content=ContentRepository(table),
        machines=machines,
        journey_runs=JourneyRuns(machines, settings.journey_run_machine_arn, schedules(settings.journey_run_machine_arn)),
        step_function_arn=settings.journey_step_function_arn,
        exports=ExportRepository(table),
        actions=ActionRepository(table),
        destinations=DestinationRepository(table),
        signing_secrets=SecretsManagerSecrets(world.aws.client("secretsmanager")),
        webhook_secret_prefix=settings.webhook_secret_prefix,
        planned=Planned(table),
        results=S3ResultFiles(world.aws.client("s3"), settings.results_bucket),
        job_trigger=LambdaTrigger(lambdas, settings.export_function_arn),
        org_settings=OrgSettings(table),
        import_links=ImportLinks(table),
        machine_prefix=settings.journey_machine_prefix,
        sms_opt_outs=SmsOptOuts(
            table,
            SmsOrigins(world.aws.client("pinpoint-sms-voice-v2")),
            engine,
            StopRecord(Engagement(table), overlay, events),
            world.clock,
        ),  # fmt: skip
        webhooks_allow_loopback=settings.webhooks_allow_loopback,
        ad_accounts=AdAccountRepository(table),
        audience_repository=AudienceRepository(table),
        syncs=SyncRepository(table),
        ad_secrets=SecretsManagerSecrets(world.aws.client("secretsmanager"), "A Tern connected ad account's credentials"),
        ad_secret_prefix=settings.ad_secret_prefix,
        ad_endpoints=Endpoints(settings.meta_graph_url, settings.google_data_manager_url, settings.google_token_url),
    )


@dataclass(frozen=True)
class Sending:
    """The orgs' sending domains over SES v2 (identities, each org's tenant and configuration set)."""

    repository: SenderRepository
    identities: SendingIdentities
    sms_origins: SmsOriginsPort
    region: str
    prefix: str
    default_sender: str | None
    default_postal_address: str | None
    clock: Clock
    shared_sms: str | None = None
    opt_out_checks: Scheduler | None = None  # the api function's: a schedule per org number, to journey_run

    def senders(self, org_id: str) -> Senders:
        return Senders(org_id, self.repository, self.identities, self.region, self.prefix, self.clock)

    def sms_senders(self, org_id: str) -> SmsSenders:
        return SmsSenders(org_id, self.repository.table, self.sms_origins, self.prefix, self.clock, self.shared_sms, self.opt_out_checks)


def sending(settings: SendingSettings, world: Runtime, table: Table) -> Sending:
    region = settings.ses_arn_prefix.split(":")[3]
    identities = SesIdentities(world.aws.client("sesv2"), settings.ses_arn_prefix, settings.event_bus_arn)
    origins = SmsOrigins(world.aws.client("pinpoint-sms-voice-v2"))
    return Sending(SenderRepository(table), identities, origins, region, settings.sending_prefix, settings.email_sender or None,
                   settings.postal_address or None, world.clock, settings.sms_origination or None)  # fmt: skip


def api_services(settings: ApiSettings) -> Services:
    """The api function's: the admin services, the orgs' sending domains, and what recipients' links work with."""
    services = admin_services(settings)
    world = runtime(settings)
    signer = Signer(secret_bytes(world.aws.client("secretsmanager"), settings.unsubscribe_secret_arn))
    table = Table(world.aws.table(settings.table_name))
    preferences = Preferences(signer, table, services.overlay, services.events, services.org_settings, world.clock)
    checks = EventBridgeScheduler(world.aws.client("scheduler"), settings.schedule_group, settings.journey_run_function_arn,
                                  settings.scheduler_role_arn, settings.failures_queue_arn)  # fmt: skip
    return replace(services, preferences=preferences, sending=replace(sending(settings, world, table), opt_out_checks=checks),
                   query_slots=QuerySlots(table, settings.org_query_limit),
                   email=SesEmail(world.aws.client("sesv2"), settings.email_sender or None, settings.ses_configuration_set),
                   sms=EndUserMessagingSms(world.aws.client("pinpoint-sms-voice-v2"), settings.sms_origination or None),
                   quick=LambdaCall.waiting(world.aws, settings.preview_function_arn, settings.preview_wait_seconds)
                   if settings.preview_function_arn else None)  # fmt: skip


def journey_step(settings: JourneyStepSettings) -> Handler:
    """journey_step's handler: one step for one contact, at most once per journey version, contact, step and phase."""
    world = runtime(settings)
    table = Table(world.aws.table(settings.table_name))
    outbound = sending(settings, world, table)
    steps = JourneySteps(
        journeys=JourneyRepository(table),
        content=ContentRepository(table),
        engagement=Engagement(table),
        email=SesEmail(world.aws.client("sesv2"), settings.email_sender or None, settings.ses_configuration_set),
        sms=EndUserMessagingSms(world.aws.client("pinpoint-sms-voice-v2"), settings.sms_origination or None),
        events=world.events(settings),
        tokens=StepFunctions(world.aws.client("stepfunctions")),
        overlay=ContactOverlay(world.lake_files(settings), table),
        segments=SegmentRepository(table),
        ledger=Ledger(table),
        settings=OrgSettings(table),
        throttle=Throttle(table),
        deliveries=WebhookDeliveries(
            DestinationRepository(table),
            SecretsManagerSecrets(world.aws.client("secretsmanager")),
            allow_loopback=settings.webhooks_allow_loopback,
        ),  # fmt: skip
        links=Links(Signer(secret_bytes(world.aws.client("secretsmanager"), settings.unsubscribe_secret_arn)), settings.public_url),
        clock=world.clock,
        senders=outbound.senders,
        sms_senders=outbound.sms_senders,
        postal_address=settings.postal_address or None,
    )
    run: Callable[[dict[str, Any]], dict[str, Any]] = lambda request: steps.run(StepRequest.model_validate(request))  # noqa: E731
    records = table_records(settings.table_name, "IDEMPOTENCY#journey-step", session=world.aws.session)
    return once_per_key(run, records, IDEMPOTENCY_KEY, IDEMPOTENCY_DAYS * 86400)


def ingest_events(settings: FunctionSettings) -> Ingest:
    world = runtime(settings)
    table = Table(world.aws.table(settings.table_name))
    events = world.events(settings)
    return Ingest(Engagement(table), events, StepFunctions(world.aws.client("stepfunctions")), world.clock,
                  Triggers(JourneyRepository(table), SegmentRepository(table), events, world.clock))  # fmt: skip
