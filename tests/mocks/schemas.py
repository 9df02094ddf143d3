"""Strict schema validation of rendered Kubernetes objects, for the mock tests."""

from typing import Any

import kubernetes_validate
import pytest

from pgpitr.versions import KUBERNETES_VERSION

OPERATOR_GROUP = "monitoring.coreos.com/"
FOREIGN_PACKAGES = ("aws:", "random:", "docker-build:")
"""Resource type prefixes of every provider but Kubernetes: a stack without AWS uses none."""


def validate_all(rendered: list[dict[str, Any]]) -> None:
    """Every object validates strictly (no unknown field) against the Kubernetes schema."""
    assert len(rendered) >= 8
    custom = [o for o in rendered if o["apiVersion"].startswith(OPERATOR_GROUP)]
    # prometheus-operator's kinds have no schema in kubernetes-validate; promtool checks
    # the rules (tests/monitoring) and test_monitoring the PodMonitor.
    assert {o["kind"] for o in custom} <= {"PodMonitor", "PrometheusRule"}
    for obj in (o for o in rendered if o not in custom):
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']} {obj['metadata'].get('name')}: {error.message} at {list(error.path)}")
