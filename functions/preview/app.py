"""Preview function: the editor's counts, by DuckDB over a copy of the org's lake (tern.engines.quick). Invoked by
the api function, and waited for; its layers (common, DuckDB) have no pyarrow, so it builds from tern.runtime."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tern.engines.quick import QuickLake
from tern.observability import logger, metrics, tracer
from tern.runtime import runtime
from tern.settings import PreviewSettings

settings = PreviewSettings()  # type: ignore[call-arg]  # read once, at cold start
lake = QuickLake(runtime(settings).lake_copies(settings), memory_limit_mb=settings.duckdb_memory_mb)  # kept while warm: copies, views


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return lake.answer(event)  # it logs what it read (files, bytes fetched, sync and query times)
