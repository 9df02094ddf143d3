"""The objects `cluster up` creates in the cluster: DNS's read access, local storage,
the Prometheus Operator's PodMonitor and PrometheusRule CRDs (so the API server validates
pgpitr's monitoring objects), and what the local stack expects to exist before
`pulumi up` (its namespace, the S3 credentials Secret and the database passwords Secret)."""

from __future__ import annotations

import base64
import functools
import os
import shutil
from pathlib import Path
from typing import Any, Final

import yaml

from cluster import api as k8s
from cluster.config import (
    NODE_NAME,
    PASSWORDS_SECRET,
    S3_CREDENTIALS_SECRET,
    STORAGE_CLASS,
    VOLUME_CAPACITY,
    VOLUME_COUNT,
    WorkDir,
)
from cluster.state import Credentials
from cluster.versions import CLUSTER_MONITORING_CRDS
from harness.processes import wait_for
from pgpitr import kubernetes_names as kn
from pgpitr_runtime import names

VOLUME_PREFIX: Final = "local-volume-"


def coredns_access() -> list[dict[str, Any]]:
    """What CoreDNS's `kubernetes` plugin reads, for the user of its certificate."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:coredns"},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["endpoints", "services", "pods", "namespaces"],
                "verbs": ["list", "watch"],
            },
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "system:coredns"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:coredns"}],
    }
    return [role, binding]


def monitoring_crds(directory: Path) -> list[dict[str, Any]]:
    """The CRDs cluster/build/build-monitoring-crds.sh generated into `directory`."""
    crds: list[dict[str, Any]] = [
        yaml.safe_load((directory / name).read_text()) for name in CLUSTER_MONITORING_CRDS.file_names()
    ]
    return crds


def storage_class() -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain",
    }


def volume_name(index: int) -> str:
    return f"{VOLUME_PREFIX}{index}"


def volume_dir(work: WorkDir, index: int) -> Path:
    return work.volumes / volume_name(index)


def persistent_volume(work: WorkDir, index: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume_name(index)},
        "spec": {
            "capacity": {"storage": VOLUME_CAPACITY},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            "volumeMode": "Filesystem",
            "local": {"path": str(volume_dir(work, index))},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE_NAME]}
                            ]
                        }
                    ]
                }
            },
        },
    }


def make_volume_dir(path: Path) -> None:
    """An empty directory owned by the image's postgres user (a local volume gets no
    ownership change unless the pod asks for an fsGroup; ../shared/CLUSTER.md pitfall 4)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o700)
    os.chown(path, names.POSTGRES_UID, names.POSTGRES_UID)
    path.chmod(0o700)


def volume_gone(api: k8s.Api, name: str) -> bool:
    return k8s.get(api, "PersistentVolume", name) is None


def ensure_volumes(api: k8s.Api, work: WorkDir, count: int = VOLUME_COUNT) -> dict[str, int]:
    """`count` static local volumes. A volume released by its claim (its PVC deleted;
    reclaim policy Retain) is emptied and offered again. Returns counts by phase."""
    phases: dict[str, int] = {}
    for index in range(1, count + 1):
        name = volume_name(index)
        existing = k8s.get(api, "PersistentVolume", name)
        phase = (existing or {}).get("status", {}).get("phase", "")
        if existing is not None and phase == "Released":
            k8s.delete(api, "PersistentVolume", name)
            wait_for(functools.partial(volume_gone, api, name), 60, f"{name} to be deleted")
            existing = None
        if existing is None:
            make_volume_dir(volume_dir(work, index))
            k8s.apply(api, persistent_volume(work, index))
            phase = "Available"
        phases[phase or "Pending"] = phases.get(phase or "Pending", 0) + 1
    return phases


def namespace(name: str) -> dict[str, Any]:
    """Labelled as the stack labels its own (components/stack.py), so importing it into
    the stack changes nothing."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {kn.MANAGED_BY_LABEL: "pgpitr", "pod-security.kubernetes.io/enforce": "restricted"},
        },
    }


def secret(name: str, namespace_name: str, values: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace_name},
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in values.items()},
    }


def stack_objects(namespace_name: str, credentials: Credentials) -> list[dict[str, Any]]:
    return [
        namespace(namespace_name),
        secret(
            S3_CREDENTIALS_SECRET,
            namespace_name,
            {
                names.AWS_ACCESS_KEY_ID: credentials.s3_access_key_id,
                names.AWS_SECRET_ACCESS_KEY: credentials.s3_secret_access_key,
            },
        ),
        secret(PASSWORDS_SECRET, namespace_name, credentials.passwords),
    ]
