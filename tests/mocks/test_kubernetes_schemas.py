"""Every rendered Kubernetes object validates strictly (no unknown field) against the
official schema of the Kubernetes version the README names as supported."""

from typing import Any

import kubernetes_validate
import pytest

from pgpitr.versions import KUBERNETES_VERSION
from tests.mocks.harness import kubernetes_objects, run_program, stack_file_config
from tests.mocks.schemas import validate_all

STATIC_KEYS = {"mode": "staticKeys", "accessKeyId": "AKIAABCDEFGHIJKLMNOP", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG"}
VARIANTS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "dev": ({}, []),
    "pod-identity": ({"pgpitr:identity": {"mode": "podIdentity", "clusterName": "prod"}}, []),
    "static-keys": ({"pgpitr:identity": STATIC_KEYS}, ["pgpitr:identity"]),
    "restore-time": ({"pgpitr:restore": {"enabled": True, "target": {"time": "2026-02-09T12:00:00Z"}}}, []),
    "restore-archive": (
        {"pgpitr:restore": {"enabled": True, "archive": True, "action": "pause", "target": {"xid": 771}}},
        [],
    ),
    "storage-class": ({"pgpitr:storage": {"size": "10Gi", "storageClass": "gp3"}}, []),
}
ONPREM_VARIANTS: dict[str, dict[str, Any]] = {
    "onprem": {},
    "onprem-restore": {"pgpitr:restore": {"enabled": True, "archive": True, "target": {"name": "before-upgrade"}}},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_object_is_schema_valid(dev_config: dict[str, Any], variant: str) -> None:
    overrides, secret_keys = VARIANTS[variant]
    recorded = run_program(dev_config | overrides, secret_keys=secret_keys)
    validate_all(kubernetes_objects(recorded))


@pytest.mark.parametrize("variant", sorted(ONPREM_VARIANTS))
def test_every_object_of_a_stack_without_aws_is_schema_valid(variant: str) -> None:
    recorded = run_program(stack_file_config("onprem") | ONPREM_VARIANTS[variant], stack="onprem")
    validate_all(kubernetes_objects(recorded))


def test_validation_catches_an_unknown_field() -> None:
    """The check above could not pass by accident: a typo is rejected."""
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "datta": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)
