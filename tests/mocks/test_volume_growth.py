"""A larger storage.size grows the primary's volume in place: the claim's request is
patched, and the StatefulSet is re-created around the running pod (orphan propagation,
delete first); a class that cannot expand is refused in one line before anything changes."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.volume_growth import ORPHAN_ON_DELETE
from pgpitr.deployed.record import OUTPUT_NAME
from tests.mocks.harness import Recorded, run_program

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
CLAIM_PATCH = "kubernetes:core/v1:PersistentVolumeClaimPatch"


def sized(config: dict[str, Any], size: str) -> dict[str, Any]:
    return {**config, "pgpitr:storage": {"size": size}}


def grown(config: dict[str, Any], before: str, after: str, expandable: bool = True) -> Recorded:
    previous = {OUTPUT_NAME: run_program(sized(config, before)).outputs["deployed_settings"]}
    return run_program(sized(config, after), previous_outputs=previous, volume_expansion=expandable)


def claim_template_size(recorded: Recorded) -> str:
    statefulset = recorded.one(STATEFULSET, "postgres-statefulset").inputs
    return str(statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"])


def test_the_claim_and_the_statefulset_get_the_new_size(dev_config: dict[str, Any]) -> None:
    recorded = grown(dev_config, "50Gi", "80Gi")
    patch = recorded.one(CLAIM_PATCH).inputs
    assert patch["metadata"]["name"] == "data-postgres-0"
    assert patch["spec"]["resources"]["requests"]["storage"] == "80Gi"
    assert claim_template_size(recorded) == "80Gi"


def test_the_statefulset_is_replaced_around_its_pod(dev_config: dict[str, Any]) -> None:
    recorded = run_program(dev_config)
    statefulset = recorded.one(STATEFULSET, "postgres-statefulset").inputs
    assert statefulset["metadata"]["annotations"] == ORPHAN_ON_DELETE
    assert statefulset["spec"]["podManagementPolicy"] == "Parallel"
    options = recorded.options(STATEFULSET, "postgres-statefulset")
    assert options.delete_before_replace
    patch_options = recorded.options(CLAIM_PATCH, "data-postgres-0-size")
    assert patch_options.retain_on_delete, "relinquishing the claim's size on destroy would fail"


def test_a_restored_copy_goes_with_its_pod_and_volume(dev_config: dict[str, Any]) -> None:
    restore = {"enabled": True, "target": {"latest": True}}
    recorded = run_program({**dev_config, "pgpitr:restore": restore})
    statefulset = recorded.one(STATEFULSET, "postgres-restored-statefulset").inputs
    assert "pulumi.com/deletionPropagationPolicy" not in statefulset["metadata"]["annotations"]
    assert [r.name for r in recorded.of_type(CLAIM_PATCH)] == ["data-postgres-0-size"]


def test_a_class_that_cannot_expand_is_refused_in_one_line(dev_config: dict[str, Any]) -> None:
    with pytest.raises(pulumi.RunError) as refused:
        grown(dev_config, "50Gi", "80Gi", expandable=False)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("invalid stack config: pgpitr:storage.size: cannot grow to 80Gi: StorageClass standard")
    assert "allowVolumeExpansion: true" in message


def test_an_unchanged_size_reads_nothing_from_the_cluster(dev_config: dict[str, Any]) -> None:
    recorded = grown(dev_config, "50Gi", "50Gi", expandable=False)
    assert not recorded.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert claim_template_size(recorded) == "50Gi"


def test_pulumi_waits_for_a_restored_copy_as_long_as_the_setting_says(dev_config: dict[str, Any]) -> None:
    restore = {"enabled": True, "target": {"latest": True}}
    recorded = run_program({**dev_config, "pgpitr:restore": {**restore, "readyTimeoutMinutes": 240}})
    timeouts = recorded.options(STATEFULSET, "postgres-restored-statefulset").custom_timeouts
    assert timeouts is not None and timeouts.create == timeouts.update == "240m"
    assert recorded.options(STATEFULSET, "postgres-statefulset").custom_timeouts is None
    default = run_program({**dev_config, "pgpitr:restore": restore})
    default_timeouts = default.options(STATEFULSET, "postgres-restored-statefulset").custom_timeouts
    assert default_timeouts is not None and default_timeouts.create == "30m"
    claim = "volumeClaimTemplates"
    assert (
        recorded.one(STATEFULSET, "postgres-restored-statefulset").inputs["spec"][claim]
        == default.one(STATEFULSET, "postgres-restored-statefulset").inputs["spec"][claim]
    ), "the timeout makes no new copy"
