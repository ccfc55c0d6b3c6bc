"""The parts one org's requests work with, built once per process from Settings (cloud) or by the local stack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tern.engines import QueryEngine
from tern.exports.jobs import JobRunner, Jobs, JobTrigger
from tern.journeys.lifecycle import JourneyRuntime, Journeys
from tern.segments.lifecycle import Schedules, Segments
from tern.settings import Settings
from tern.store.datasets import FirehoseEvents, LakeEvents
from tern.store.jobs import ActionRepository, DestinationRepository, ExportRepository, Planned
from tern.store.journeys import ContentRepository, Engagement, JourneyRepository
from tern.store.lists import ListRepository
from tern.store.manifests import Manifests, S3LakeFiles
from tern.store.overlay import ContactOverlay
from tern.store.results import ResultFiles
from tern.store.segments import SegmentRepository
from tern.store.table import Table


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class Services:
    repository: SegmentRepository
    lists: ListRepository
    schedules: Schedules
    manifests: Manifests
    engine: QueryEngine
    clock: Callable[[], dt.datetime] = utc_now
    journey_repository: JourneyRepository | None = None
    content: ContentRepository | None = None
    engagement: Engagement | None = None
    runtime: JourneyRuntime | None = None
    results: ResultFiles | None = None
    job_trigger: JobTrigger | None = None

    @property
    def overlay(self) -> ContactOverlay:
        """Tern's overlay of contact changes, in the lake the manifests are in."""
        return ContactOverlay(self.manifests.files, self.repository.table)

    def jobs(self, org_id: str) -> Jobs:
        if self.results is None or self.job_trigger is None:
            raise RuntimeError("exports are not configured in these services")
        table = self.repository.table
        return Jobs(
            org_id, self.segments(org_id), ExportRepository(table), ActionRepository(table), DestinationRepository(table),
            Planned(table), self.results, self.job_trigger,
        )  # fmt: skip

    def job_runner(self, org_id: str) -> JobRunner:
        return JobRunner(self.jobs(org_id), self.engine, self.overlay, self.clock)

    def segments(self, org_id: str) -> Segments:
        return Segments(org_id, self.repository, self.schedules, self.lists)

    def journeys(self, org_id: str) -> Journeys:
        if self.journey_repository is None or self.content is None or self.runtime is None:
            raise RuntimeError("journeys are not configured in these services")
        return Journeys(org_id, self.journey_repository, self.content, self.segments(org_id), self.runtime, self.clock)


def cloud_services(settings: Settings, session: Any | None = None) -> Services:
    """Services over real AWS: DynamoDB, S3, EventBridge Scheduler, Athena."""
    import boto3

    from tern.engines.athena import AthenaEngine
    from tern.exports.aws import LambdaJobTrigger
    from tern.journeys.aws import LambdaRunTrigger
    from tern.segments.schedules import EventBridgeSchedules

    session = session or boto3.session.Session(region_name=settings.region)
    table = Table(session.resource("dynamodb").Table(settings.table_name))
    lake_files = S3LakeFiles(session.client("s3"), settings.lake_bucket)
    scheduler = session.client("scheduler")
    return Services(
        repository=SegmentRepository(table),
        lists=ListRepository(table),
        schedules=EventBridgeSchedules(
            scheduler, settings.schedule_group, settings.evaluate_function_arn, settings.scheduler_role_arn
        ),
        manifests=Manifests(lake_files),
        engine=AthenaEngine(
            session.client("athena"), settings.athena_workgroup, settings.glue_database,
            s3_client=session.client("s3"), results_bucket=settings.results_bucket,
        ),  # fmt: skip
        results=ResultFiles(session.client("s3"), settings.results_bucket),
        job_trigger=LambdaJobTrigger(session.client("lambda"), settings.export_function_arn),
        journey_repository=JourneyRepository(table),
        content=ContentRepository(table),
        engagement=Engagement(table),
        runtime=JourneyRuntime(
            sfn=session.client("stepfunctions"),
            step_function_arn=settings.journey_step_function_arn,
            state_machine_role_arn=settings.state_machine_role_arn,
            trigger=LambdaRunTrigger(session.client("lambda"), scheduler, settings.journey_run_function_arn, settings.schedule_group, settings.scheduler_role_arn),
            events=FirehoseEvents(session.client("firehose"), settings.events_stream) if settings.events_stream else LakeEvents(lake_files, "journeys"),
        ),
    )
