"""Kubernetes workloads: every container and init container of a StatefulSet, Job or
CronJob runs non-root with cpu and memory limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pulumi_policy import ReportViolation, ResourceValidationArgs

if TYPE_CHECKING or __package__:  # policy.<module>, as the tests and mypy import it
    from .kubernetes_props import pod_containers, pod_spec
    from .props import UNKNOWN, describe, lookup
else:  # a top-level module: Pulumi runs the pack with policy/ first on sys.path
    from kubernetes_props import pod_containers, pod_spec
    from props import UNKNOWN, describe, lookup


def is_root_uid(value: object) -> bool:
    """runAsUser 0 (the mock monitor and JSON may give it as 0.0)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def non_root_findings(pod: object, container: Mapping[str, object]) -> list[str]:
    """Why a container might run as root: runAsNonRoot false or unset, or runAsUser 0."""
    own = lookup(container, "securityContext", "runAsNonRoot")
    inherited = lookup(pod, "securityContext", "runAsNonRoot")
    findings: list[str] = []
    if own is False:
        findings.append("sets securityContext.runAsNonRoot false; set it true")
    elif own is None and inherited is not True and inherited is not UNKNOWN:
        findings.append("may run as root: set securityContext.runAsNonRoot true on the container or the pod")
    if is_root_uid(lookup(container, "securityContext", "runAsUser")):
        findings.append("sets securityContext.runAsUser 0 (root); use the postgres uid 999")
    return findings


def limit_findings(container: Mapping[str, object]) -> list[str]:
    """Which of the cpu and memory limits a container lacks."""
    limits = lookup(container, "resources", "limits")
    if limits is UNKNOWN:
        return []
    missing = [kind for kind in ("cpu", "memory") if lookup(limits, kind) in (None, "")]
    if not missing:
        return []
    return [f"has no {' or '.join(missing)} limit; set resources.limits.cpu and resources.limits.memory"]


def validate_containers(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Every container and init container runs non-root with cpu and memory limits."""
    pod = pod_spec(args)
    if pod is None or pod is UNKNOWN:
        return
    if is_root_uid(lookup(pod, "securityContext", "runAsUser")):
        report_violation(f"{describe(args)}: the pod sets securityContext.runAsUser 0 (root); use uid 999.", args.urn)
    for label, container in pod_containers(pod):
        for finding in non_root_findings(pod, container) + limit_findings(container):
            report_violation(f"{describe(args)}: {label} {finding}.", args.urn)
