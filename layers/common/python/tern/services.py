"""The parts one org's requests work with, built once per process from Settings (cloud) or by the local stack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tern.engines import QueryEngine
from tern.segments.lifecycle import Schedules, Segments
from tern.settings import Settings
from tern.store.lists import ListRepository
from tern.store.manifests import Manifests, S3LakeFiles
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

    def segments(self, org_id: str) -> Segments:
        return Segments(org_id, self.repository, self.schedules, self.lists)


def cloud_services(settings: Settings, session: Any | None = None) -> Services:
    """Services over real AWS: DynamoDB, S3, EventBridge Scheduler, Athena."""
    import boto3

    from tern.engines.athena import AthenaEngine
    from tern.segments.schedules import EventBridgeSchedules

    session = session or boto3.session.Session(region_name=settings.region)
    table = Table(session.resource("dynamodb").Table(settings.table_name))
    return Services(
        repository=SegmentRepository(table),
        lists=ListRepository(table),
        schedules=EventBridgeSchedules(
            session.client("scheduler"), settings.schedule_group, settings.evaluate_function_arn, settings.scheduler_role_arn
        ),
        manifests=Manifests(S3LakeFiles(session.client("s3"), settings.lake_bucket)),
        engine=AthenaEngine(session.client("athena"), settings.athena_workgroup, settings.glue_database),
    )
