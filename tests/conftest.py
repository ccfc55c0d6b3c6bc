"""Shared fixtures: a generated two-org lake, its rows for the reference evaluator, and engines over it."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tern.engines.duckdb import DuckDBEngine  # noqa: E402
from tern_local.generator import generate  # noqa: E402
from tern_local.protocols import bridge_all  # noqa: E402
from tern_local.ses import emulate  # noqa: E402

from reference import Lake  # noqa: E402

# moto under mock_aws answers the AWS APIs in every protocol the SDKs speak, and SES v2 as SES does, as the local stack does
bridge_all()
emulate()

NOW = dt.datetime(2026, 11, 22, 12, 0, 0)
ORGS = ("acme", "globex")


@pytest.fixture(scope="session")
def generated_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    for seed, org in enumerate(ORGS, start=7):
        generate(root, contacts=1200, events_per_contact=14, days=200, org=org, seed=seed, now=NOW)
    return root


@pytest.fixture(scope="session")
def generated_rows(generated_lake: Path) -> Lake:
    return Lake(generated_lake)


@pytest.fixture(scope="session")
def generated_engine(generated_lake: Path) -> DuckDBEngine:
    return DuckDBEngine(generated_lake)
