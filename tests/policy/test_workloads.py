"""Kubernetes workloads (policy/workloads.py): every container runs non-root with cpu and
memory limits."""

from __future__ import annotations

from typing import Any

from tests.mocks.harness import Recorded, Resource
from tests.policy.analyzer import PRIMARY, STATEFULSET, changed, container_of, only_violation, pod_of, violations


def test_container_without_limits_is_refused(dev: Recorded) -> None:
    resource = changed(dev, *PRIMARY, lambda inputs: container_of(inputs, "postgres")["resources"].pop("limits"))
    message = only_violation("containers-non-root-with-limits", resource)
    assert "StatefulSet 'postgres-statefulset': container 'postgres' has no cpu or memory limit" in message
    assert "resources.limits.cpu" in message


def test_container_with_run_as_non_root_false_is_refused(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        container_of(inputs, "exporter")["securityContext"]["runAsNonRoot"] = False

    message = only_violation("containers-non-root-with-limits", changed(dev, *PRIMARY, change))
    assert "container 'exporter' sets securityContext.runAsNonRoot false" in message


def test_container_relying_on_the_pod_is_non_root_unless_the_pod_is_not(dev: Recorded) -> None:
    def inherit(inputs: dict[str, Any]) -> None:
        container_of(inputs, "postgres")["securityContext"].pop("runAsNonRoot")

    assert violations("containers-non-root-with-limits", [changed(dev, *PRIMARY, inherit)]) == []

    def neither(inputs: dict[str, Any]) -> None:
        inherit(inputs)
        pod_of(inputs)["securityContext"].pop("runAsNonRoot")

    message = only_violation("containers-non-root-with-limits", changed(dev, *PRIMARY, neither))
    assert "container 'postgres' may run as root" in message


def test_init_container_running_as_uid_0_is_refused(restored: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        container_of(inputs, "restore")["securityContext"]["runAsUser"] = 0

    resource = changed(restored, STATEFULSET, "postgres-restored-statefulset", change)
    message = only_violation("containers-non-root-with-limits", resource)
    assert "init container 'restore' sets securityContext.runAsUser 0 (root)" in message


def test_pod_running_as_uid_0_is_refused(dev: Recorded) -> None:
    resource = changed(dev, *PRIMARY, lambda inputs: pod_of(inputs)["securityContext"].update(runAsUser=0.0))
    assert "the pod sets securityContext.runAsUser 0" in only_violation("containers-non-root-with-limits", resource)


def test_cronjob_container_without_memory_limit_is_refused(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"].pop("memory")

    resource = changed(dev, "kubernetes:batch/v1:CronJob", "postgres-backup-cronjob", change)
    message = only_violation("containers-non-root-with-limits", resource)
    assert "CronJob 'postgres-backup-cronjob': container 'backup' has no memory limit" in message


def test_job_is_checked_too() -> None:
    job = {"spec": {"template": {"spec": {"containers": [{"name": "once", "image": "busybox"}]}}}}
    messages = violations("containers-non-root-with-limits", [Resource("kubernetes:batch/v1:Job", "once", job, {})])
    assert len(messages) == 2
    assert "may run as root" in messages[0] and "has no cpu or memory limit" in messages[1]
