"""Random splits and holdouts: deterministic assignment (a digest, never a draw), proportions that converge,
and the Choice states they compile to, run in moto's Step Functions interpreter by later tests (issue 13)."""

from __future__ import annotations

import collections
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tern.journeys.asl import END, compile_journey
from tern.journeys.model import JourneyDefinition, RandomSplit, branch_of, bucket

SPLIT = {
    "name": "A/B", "audience": "s1", "start": "hold",
    "steps": [
        {"id": "hold", "kind": "holdout", "percent": 10, "next": "ab"},
        {"id": "ab", "kind": "random_split", "branches": [{"percent": 50, "next": "a"}, {"percent": 30, "next": "b"}, {"percent": 20}]},
        {"id": "a", "kind": "end"}, {"id": "b", "kind": "end"},
    ],
}  # fmt: skip


def test_a_bucket_is_a_digest_of_journey_step_and_contact() -> None:
    assert bucket("j1", "ab", "c1") == bucket("j1", "ab", "c1")
    assert 0 <= bucket("j1", "ab", "c1") < 100
    spread = {bucket("j1", "ab", f"c{i}") for i in range(2000)}
    assert spread == set(range(100))


@settings(max_examples=30, deadline=None)
@given(percents=st.lists(st.integers(1, 60), min_size=2, max_size=5).filter(lambda p: sum(p) <= 100), journey=st.text(min_size=1, max_size=8))
def test_split_proportions_converge_and_never_move_a_contact(percents: list[int], journey: str) -> None:
    percents = [*percents[:-1], percents[-1] + 100 - sum(percents)]
    step = RandomSplit(id="ab", kind="random_split", branches=[{"percent": p} for p in percents])  # type: ignore[list-item]
    contacts = [f"c{i:05d}" for i in range(20_000)]
    first = [branch_of(step, bucket(journey, "ab", c)) for c in contacts]
    assert first == [branch_of(step, bucket(journey, "ab", c)) for c in contacts]  # a re-run moves nobody
    shares = collections.Counter(first)
    for index, percent in enumerate(percents):
        assert abs(shares[index] / len(contacts) - percent / 100) < 0.02, (index, shares)


def test_percents_must_add_up_to_100() -> None:
    bad: dict[str, Any] = {**SPLIT, "steps": [{"id": "ab", "kind": "random_split", "branches": [{"percent": 50}, {"percent": 40}]}], "start": "ab"}
    with pytest.raises(ValidationError, match="add up to 90, not 100"):
        JourneyDefinition.model_validate(bad)


def test_splits_and_holdouts_compile_to_choice_states_on_the_bucket() -> None:
    asl = compile_journey(JourneyDefinition.model_validate(SPLIT), "arn:aws:lambda:eu-central-1:123456789012:function:step")
    states = asl["States"]
    assert states["hold"]["Type"] == "Choice" and states["hold"]["Default"] == "ab"
    assert states["hold"]["Choices"] == [{"Variable": "$.buckets.hold", "NumericLessThan": 10, "Next": "hold:held_out"}]
    assert states["hold:held_out"]["Parameters"]["Payload"]["phase"] == "held_out" and states["hold:held_out"]["End"] is True
    assert [(c["NumericLessThan"], c["Next"]) for c in states["ab"]["Choices"]] == [(50, "a"), (80, "b")]
    assert states["ab"]["Default"] == END and states[END]["Type"] == "Succeed"
