"""What the scenario reads and does inside the cluster through kubectl: SQL in a database
pod, Jobs made from pgpitr's CronJobs, events, pgpitr's objects."""

from __future__ import annotations

import json
from typing import Any, Final

from cluster import api as k8s
from cluster.cli import Tools
from cluster.state import ClusterError
from cluster.versions import CLUSTER_MONITORING_CRDS
from pgpitr import kubernetes_names as kn

POSTGRES_CONTAINER: Final = "postgres"
MONITORING_RESOURCES: Final = tuple(
    f"{resource}.{CLUSTER_MONITORING_CRDS.group}" for resource in CLUSTER_MONITORING_CRDS.resources
)
"""The kinds of the CRDs `cluster up` installs, as kubectl names them."""
JOB_TIMEOUT: Final = 600.0
"""A Job made from a CronJob: a base backup, a restore drill, a WAL chain check."""


class Pods:
    def __init__(self, tools: Tools, namespace: str) -> None:
        self.tools = tools
        self.namespace = namespace

    def kubectl(self, *args: str, timeout: float | None = None) -> str:
        if timeout is None:
            return self.tools.kubectl("--namespace", self.namespace, *args)
        return self.tools.kubectl("--namespace", self.namespace, *args, timeout=timeout)

    def sql(self, pod: str, query: str) -> str:
        """`query` through psql in the pod's database container (its local socket, as the
        image's superuser); the last statement's rows, unaligned."""
        argv = ["exec", pod, "--container", POSTGRES_CONTAINER, "--", "psql", "--no-psqlrc", "--quiet"]
        argv += ["--username", "postgres", "--dbname", "postgres", "--tuples-only", "--no-align"]
        return self.kubectl(*argv, "--set", "ON_ERROR_STOP=1", "--command", query).strip()

    def wait_ready(self, pod: str, timeout: float) -> None:
        self.kubectl("wait", "--for=condition=Ready", f"pod/{pod}", f"--timeout={timeout:.0f}s", timeout=timeout + 30)

    def run_job_from(self, cronjob: str, job: str) -> str:
        """A Job made from `cronjob` (as `kubectl create job --from` does), waited for; its
        log on success, a ClusterError with the log's last line on failure."""
        self.kubectl("create", "job", f"--from=cronjob/{cronjob}", job)
        try:
            self.kubectl(
                "wait",
                "--for=condition=complete",
                f"job/{job}",
                f"--timeout={JOB_TIMEOUT:.0f}s",
                timeout=JOB_TIMEOUT + 30,
            )
        except ClusterError:
            log = self.logs(f"job/{job}")
            raise ClusterError(
                f"Job {job} (from CronJob {cronjob}) did not complete: {log[-1:] or ['no log']}"
            ) from None
        return "\n".join(self.logs(f"job/{job}"))

    def logs(self, what: str) -> list[str]:
        try:
            return self.kubectl("logs", what, "--all-containers", "--tail=40").splitlines()
        except ClusterError as error:
            return [str(error)]

    def failed_creations(self) -> list[str]:
        """Events of pods that could not be created (a Pod Security rejection is one)."""
        listed = json.loads(self.kubectl("get", "events", "--field-selector", "reason=FailedCreate", "--output=json"))
        return [f"{event['involvedObject']['name']}: {event['message']}" for event in listed.get("items", [])]

    def node_trouble(self) -> str:
        """The node's pressure conditions and the namespace's evictions, if any: what makes
        pods vanish or never start while a `pulumi up` waits for them."""
        try:
            nodes = json.loads(self.tools.kubectl("get", "nodes", "--output=json"))["items"]
            evicted = json.loads(self.kubectl("get", "events", "--field-selector", "reason=Evicted", "--output=json"))[
                "items"
            ]
        except (ClusterError, ValueError, KeyError):
            return ""
        pressures = sorted({c for node in nodes for c in k8s.true_conditions(node) if c.endswith("Pressure")})
        found = []
        if pressures:
            found.append(f"node under {', '.join(pressures)}")
        if evicted:
            found.append(f"{len(evicted)} evictions, the last: {evicted[-1].get('message', '')}")
        return "; ".join(found)

    def pod_ip(self, pod: str) -> str:
        return self.kubectl("get", "pod", pod, "--output=jsonpath={.status.podIP}")

    def custom_objects(self, resource: str) -> list[dict[str, Any]]:
        """The namespace's objects of a CRD's `resource` (plural.group)."""
        listed: list[dict[str, Any]] = json.loads(self.kubectl("get", resource, "--output=json"))["items"]
        return listed

    def annotation(self, pod: str, name: str) -> str:
        found: dict[str, str] = json.loads(self.kubectl("get", "pod", pod, "--output=json"))["metadata"].get(
            "annotations", {}
        )
        return found.get(name, "")


def pgpitr_objects(tools: Tools) -> list[str]:
    """Every object labelled as pgpitr's, in any namespace."""
    kinds = ",".join(
        (
            "statefulsets,services,cronjobs,jobs,pods,configmaps,secrets,persistentvolumeclaims,serviceaccounts",
            *MONITORING_RESOURCES,
        )
    )
    listed = tools.kubectl(
        "get", kinds, "--all-namespaces", "--selector", f"{kn.MANAGED_BY_LABEL}=pgpitr", "--output=name"
    )
    return listed.split()
