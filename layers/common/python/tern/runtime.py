"""The world the functions run in: AWS clients, the query engine, the lake's files, where events go and the clock.

In the cloud it is AWS (Athena, S3, Firehose, the real clock). Anything else (the local stack: moto, DuckDB, a folder,
a compressed clock; tests) hands its own Runtime to `use_runtime` before importing the functions: that is the one
hook, and nothing patches a module after import. tern.services builds every function's parts in it; the preview
function, whose layers have DuckDB and no pyarrow, builds its few here without loading the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tern.aws import Clients
from tern.clock import Clock, utc_now
from tern.settings import FunctionSettings, PreviewSettings, QuerySettings

if TYPE_CHECKING:
    from tern.engines import QueryEngine
    from tern.ports import Events, LakeCopies, LakeFiles

MiB = 1024 * 1024


class Runtime:
    """The world the parts run in: AWS. Subclass it to replace a part (the local stack does)."""

    def __init__(self, aws: Clients, clock: Clock = utc_now):
        self.aws = aws
        self.clock = clock

    def engine(self, settings: QuerySettings) -> QueryEngine:
        from tern.engines.athena import AthenaEngine

        return AthenaEngine(
            self.aws.client("athena"), settings.athena_workgroup, settings.glue_database,
            s3_client=self.aws.client("s3"), results_bucket=settings.results_bucket,
        )  # fmt: skip

    def lake_files(self, settings: FunctionSettings) -> LakeFiles:
        from tern.aws.s3 import S3LakeFiles

        return S3LakeFiles(self.aws.client("s3"), settings.lake_bucket)

    def events(self, settings: FunctionSettings) -> Events:
        if settings.events_stream:
            from tern.aws.firehose import FirehoseEvents

            return FirehoseEvents(self.aws.client("firehose"), settings.events_stream)
        from tern.store.events import LakeEvents

        return LakeEvents(self.lake_files(settings), "journeys")

    def lake_copies(self, settings: PreviewSettings) -> LakeCopies:
        """The preview function's copies of the orgs' lakes: always read from the lake bucket through S3's API (the
        local stack's S3 too), never from a folder."""
        from tern.aws.lake_copy import LakeCopies

        return LakeCopies(self.aws.client("s3"), settings.lake_bucket, Path(settings.copy_dir), settings.copy_room_mb * MiB)


_installed: Runtime | None = None


def use_runtime(runtime: Runtime | None) -> None:
    """Run the functions imported after this call in `runtime` instead of AWS (None: AWS again)."""
    global _installed
    _installed = runtime


def runtime(settings: FunctionSettings) -> Runtime:
    return _installed or Runtime(Clients(settings.region))
