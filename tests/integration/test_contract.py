"""The API holds to its OpenAPI document: Schemathesis generates requests from /openapi.json (examples, boundary
values, random data, and stateful sequences following the document's links) against a running local stack,
and checks every answer: no server error, a documented status, the documented body and content type, bad
input refused, 405 with Allow for undocumented methods.

The coverage phase (every boundary value of every field: some 60,000 requests, longer than `make test` may
take, as moto's DynamoDB slows with every item the run stores) runs with `make contract`.

One check is left out: positive_data_acceptance expects every schema-valid request to succeed, but Tern's
rules that JSON Schema cannot state (a referenced segment must exist, a CSV must name a key column, a journey
must be publishable) answer 400 with the field path, which is what they should do. And use_after_free: DELETE
of a segment or a content is a soft delete that POST .../restore undoes, so the object stays readable (with
status deleted), by design.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from google_standin import GoogleStandIn
from graph_standin import GraphStandIn
from stack_client import local_stack
from tern_local.generator import generate
from tern_local.stack import LocalStack

ST = [sys.executable, "-m", "schemathesis.cli"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    lake: Path = tmp_path_factory.mktemp("contract-lake")
    generate(lake, contacts=200, events_per_contact=3, days=20, org="acme", seed=21)
    graph, google = GraphStandIn(tokens=set()), GoogleStandIn({}, set(), set())  # the ad platforms: they refuse what it sends
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TERN_META_GRAPH_URL", graph.url)
        env.setenv("TERN_GOOGLE_DATA_MANAGER_URL", google.url)
        env.setenv("TERN_GOOGLE_TOKEN_URL", google.token_url)
        with local_stack(lake) as running:
            yield running
    graph.stop()
    google.stop()


def test_the_api_holds_to_its_openapi_document(stack: LocalStack) -> None:
    phases = "examples,coverage,fuzzing,stateful" if os.environ.get("TERN_CONTRACT_FULL") else "examples,fuzzing,stateful"
    done = subprocess.run(
        [
            *ST, "--no-color", "run", f"http://127.0.0.1:{stack.port}/openapi.json", "--header", "X-Tern-Org: acme",
            "--checks", "all", "--exclude-checks", "positive_data_acceptance,use_after_free",
            "--phases", phases, "--max-examples", "20", "--workers", "1", "--seed", "20261123",
        ],
        capture_output=True, text=True, timeout=7200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-3000:]
