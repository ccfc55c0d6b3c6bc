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
from tern.journeys.kinds import RandomSplit, branch_of, bucket
from tern.journeys.model import JourneyDefinition

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
@given(
    percents=st.lists(st.integers(1, 60), min_size=2, max_size=5).filter(lambda p: sum(p) <= 100), journey=st.text(min_size=1, max_size=8)
)
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
    bad: dict[str, Any] = {
        **SPLIT,
        "steps": [{"id": "ab", "kind": "random_split", "branches": [{"percent": 50}, {"percent": 40}]}],
        "start": "ab",
    }
    with pytest.raises(ValidationError, match="add up to 90, not 100"):
        JourneyDefinition.model_validate(bad)


def test_decisions_compile_to_a_task_and_a_choice_on_its_answer() -> None:
    asl = compile_journey(JourneyDefinition.model_validate(SPLIT), "arn:aws:lambda:eu-central-1:123456789012:function:step")
    states = asl["States"]
    assert states["hold"]["Type"] == "Task" and states["hold"]["Next"] == "hold:route"
    assert states["hold"]["ResultSelector"] == {"edge.$": "$.Payload.way"} and states["hold"]["ResultPath"] == "$.decided"
    assert states["hold:route"] == {
        "Type": "Choice",
        "Choices": [{"Variable": "$.decided.edge", "StringEquals": "next", "Next": "ab"}],
        "Default": END,
    }
    assert [(c["StringEquals"], c["Next"]) for c in states["ab:route"]["Choices"]] == [("branches[0]", "a"), ("branches[1]", "b")]
    assert states["ab:route"]["Default"] == END and states[END]["Type"] == "Succeed"


def test_a_split_after_a_wait_compiles_to_wait_task_choice() -> None:
    definition = JourneyDefinition.model_validate({
        "name": "Split", "audience": "s1", "start": "vip", "steps": [
            {"id": "vip", "kind": "split", "after": "PT6H", "condition": {"kind": "tags", "op": "has_any", "values": ["vip"]}, "yes": "a"},
            {"id": "tier", "kind": "multi_split", "branches": [{"condition": {"kind": "gender", "value": "female"}, "next": "a"}], "else": "a"},
            {"id": "a", "kind": "end"}]})  # fmt: skip
    states = compile_journey(definition, "arn:aws:lambda:eu-central-1:123456789012:function:step")["States"]
    assert states["vip"] == {"Type": "Wait", "SecondsPath": "$.waits.vip", "Next": "vip:decide"}
    assert states["vip:decide"]["Next"] == "vip:route"
    assert states["vip:route"]["Choices"] == [{"Variable": "$.decided.edge", "StringEquals": "yes", "Next": "a"}]
    assert [c["StringEquals"] for c in states["tier:route"]["Choices"]] == ["branches[0]", "else"]
    assert states["tier"]["Type"] == "Task"
