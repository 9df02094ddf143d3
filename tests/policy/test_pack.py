"""The pack as a whole against the shipped stacks under the mocks: its eight mandatory
policies, each passing dev on AWS and onprem without AWS (each also with a restored
instance), each judging something there, and the AWS policies finding nothing to check
without AWS."""

from __future__ import annotations

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from policy import pack
from tests.mocks.harness import Recorded
from tests.policy.analyzer import AWS_POLICIES, NAMES, POLICIES, seen_by, violations


def test_the_pack_has_the_eight_mandatory_policies() -> None:
    assert [p.name for p in pack.ALL_POLICIES] == NAMES
    assert set(pack.POLICY_RESOURCE_TYPES) == set(NAMES)
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in pack.ALL_POLICIES)
    assert isinstance(POLICIES["s3-bucket-protected"], StackValidationPolicy)
    assert sum(isinstance(p, ResourceValidationPolicy) for p in pack.ALL_POLICIES) == 7


@pytest.mark.parametrize("name", NAMES)
def test_shipped_stack_passes(dev: Recorded, name: str) -> None:
    assert violations(name, dev.resources) == []


@pytest.mark.parametrize("name", NAMES)
def test_stack_with_a_restored_instance_passes(restored: Recorded, name: str) -> None:
    assert violations(name, restored.resources) == []


@pytest.mark.parametrize("name", NAMES)
def test_each_policy_sees_its_resources(dev: Recorded, restored: Recorded, name: str) -> None:
    assert seen_by(name, restored), f"{name} judged nothing: it would pass vacuously"
    if name != "restored-never-archives-into-source":
        assert seen_by(name, dev)


# --- the stack without AWS -------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_onprem_stack_passes(onprem: Recorded, name: str) -> None:
    assert violations(name, onprem.resources) == []


@pytest.mark.parametrize("name", NAMES)
def test_onprem_stack_with_a_restored_instance_passes(onprem_restored: Recorded, name: str) -> None:
    assert violations(name, onprem_restored.resources) == []


@pytest.mark.parametrize("name", AWS_POLICIES)
def test_aws_policies_find_nothing_to_check_without_aws(onprem: Recorded, onprem_restored: Recorded, name: str) -> None:
    assert not [r for r in onprem_restored.resources if r.type.startswith("aws:")]
    assert seen_by(name, onprem) == seen_by(name, onprem_restored) == []


@pytest.mark.parametrize("name", [name for name in NAMES if name not in AWS_POLICIES])
def test_kubernetes_policies_still_judge_the_onprem_stack(
    onprem: Recorded, onprem_restored: Recorded, name: str
) -> None:
    assert seen_by(name, onprem_restored), f"{name} judged nothing on onprem: it would pass vacuously"
    if name != "restored-never-archives-into-source":
        assert seen_by(name, onprem)
