"""Preview function: the editor's counts from a copy of the org's lake, by DuckDB (tern.engines.quick).

Invoked by the api function only, and waited for. Its layers are the common one and DuckDB's, without pyarrow:
it builds its parts from tern.runtime, not tern.services.
"""

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
    answer = lake.answer(event)
    read = answer.get("read") or {}
    logger.info("answered", extra={"org_id": event.get("org_id"), "not_quick": answer.get("not_quick"), **read})
    return answer
