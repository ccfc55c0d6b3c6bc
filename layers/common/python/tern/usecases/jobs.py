"""Jobs (exports and bulk actions): starting those planned while their segment was evaluated, and running one."""

from __future__ import annotations

from typing import Any

from tern.exports.jobs import JobRequest
from tern.services import Services


def start_planned_jobs(services: Services, org_id: str, segment_id: str) -> list[str]:
    """Start the exports and actions asked for while the segment was evaluated (it succeeded or failed)."""
    return services.jobs(org_id).evaluation_ended(segment_id)


def run_job(request: JobRequest, services: Services) -> dict[str, Any]:
    """What the export function does with one job (an audience sync too)."""
    if request.kind == "audience":
        return services.audience_syncs(request.org_id).run(request)
    return services.job_runner(request.org_id).run(request)
