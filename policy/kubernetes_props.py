"""The Kubernetes side of what the pack reads: the resource types it judges, the role
label that tells a primary's objects from a restored instance's, and the pod template and
containers of a StatefulSet, Job or CronJob."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from pulumi_policy import ResourceValidationArgs

if TYPE_CHECKING or __package__:  # policy.<module>, as the tests and mypy import it
    from .props import elements, lookup
else:  # a top-level module: Pulumi runs the pack with policy/ first on sys.path
    from props import elements, lookup

STATEFULSET_TYPE: Final = "kubernetes:apps/v1:StatefulSet"
JOB_TYPE: Final = "kubernetes:batch/v1:Job"
CRONJOB_TYPE: Final = "kubernetes:batch/v1:CronJob"
CONFIG_MAP_TYPE: Final = "kubernetes:core/v1:ConfigMap"

ROLE_LABEL: Final = "pgpitr.io/role"
PRIMARY_ROLE: Final = "primary"
RESTORED_ROLE: Final = "restored"


def pod_spec(args: ResourceValidationArgs) -> object:
    """The pod template's spec of a StatefulSet, Job or CronJob; None for other types."""
    if args.resource_type in (STATEFULSET_TYPE, JOB_TYPE):
        return lookup(args.props, "spec", "template", "spec")
    if args.resource_type == CRONJOB_TYPE:
        return lookup(args.props, "spec", "jobTemplate", "spec", "template", "spec")
    return None


def pod_containers(pod: object) -> list[tuple[str, Mapping[str, object]]]:
    """(label, container) for every known init container and container of a pod spec."""
    found: list[tuple[str, Mapping[str, object]]] = []
    for field, kind in (("initContainers", "init container"), ("containers", "container")):
        for index, container in enumerate(elements(lookup(pod, field))):
            if isinstance(container, Mapping):
                name = lookup(container, "name")
                found.append((f"{kind} {name!r}" if isinstance(name, str) else f"{kind} #{index}", container))
    return found
