"""The local runtime: what the local stack (and tests) run Tern's functions in instead of AWS.

moto answers the AWS calls (boto3 reaches it through AWS_ENDPOINT_URL, or moto's in-process mock), Athena
among them (the local Athena, tern_local.athena, answers from DuckDB), the lake is a folder (manifests, lists, the overlay and the events Tern writes land
there, where DuckDB reads them), and the clock may run compressed. It is handed to tern.services.use_runtime
before the functions are imported: the one hook, documented in docs/DESIGN.md.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from tern.aws import Clients
from tern.clock import Clock, utc_now
from tern.engines import QueryEngine
from tern.ports import Events, LakeFiles
from tern.services import Runtime
from tern.settings import FunctionSettings, QuerySettings
from tern.store.events import LakeEvents
from tern_local.iam import Roles, current
from tern_local.lake_files import DirLakeFiles


def _authorise(roles: Roles, params: dict[str, Any], model: Any, **_: Any) -> None:
    function = getattr(current, "function", None)
    if function is None:
        return
    refused = roles.check(function, model.service_model.signing_name, model.name, params)
    if refused is not None:
        raise roles.access_denied(refused, model.name)


class LocalRuntime(Runtime):
    """With no `engine`, queries go to Athena as in the cloud (the local stack's Athena answers them from
    DuckDB); with one, straight to it."""

    def __init__(
        self, data: Path, clock: Clock = utc_now, region: str | None = None, engine: QueryEngine | None = None, roles: Roles | None = None
    ):
        super().__init__(Clients(region), clock)
        self.data = data
        self._engine = engine
        if roles is not None:  # every call a function makes is held to its role, before it leaves
            self.aws.session.events.register("before-parameter-build", partial(_authorise, roles))

    def engine(self, settings: QuerySettings) -> QueryEngine:
        return self._engine or super().engine(settings)

    def lake_files(self, settings: FunctionSettings) -> LakeFiles:
        return DirLakeFiles(self.data)

    def events(self, settings: FunctionSettings) -> Events:
        return LakeEvents(self.lake_files(settings), "journeys")
