"""The local cluster's fixed addresses, ports and names, and where its files go.

Everything the cluster listens on is either loopback or the node address on the bridge
it creates (NODE_IP on BRIDGE): pods reach the API server, DNS and the S3 server there,
and nothing is bound to the machine's outside interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from harness.paths import REPOSITORY_ROOT
from pgpitr import kubernetes_names as kn

DEFAULT_WORK_DIR: Final = REPOSITORY_ROOT / ".cluster"
MAX_WORK_DIR_LENGTH: Final = 60
"""containerd's and kubelet's unix sockets live under the work dir, and a socket's path
is limited to 104 bytes (containerd's ttrpc socket is <work>/run/containerd/containerd.sock.ttrpc)."""

# --- Networks ----------------------------------------------------------------------
BRIDGE: Final = "cni0"
POD_CIDR: Final = "10.244.0.0/24"
NODE_IP: Final = "10.244.0.1"
"""The bridge's address: the node's InternalIP, the API server's, DNS's and S3's."""
POD_RANGE: Final = ("10.244.0.10", "10.244.0.250")
SERVICE_CIDR: Final = "10.96.0.0/24"
KUBERNETES_SERVICE_IP: Final = "10.96.0.1"
CLUSTER_DOMAIN: Final = "cluster.local"
NODE_NAME: Final = "pgpitr-node"
"""Fixed, so the node's client certificate and the local volumes' node affinity never
depend on the machine's host name."""

# --- Ports (all on loopback unless said otherwise) ----------------------------------------
API_PORT: Final = 6443
"""On NODE_IP."""
ETCD_CLIENT_PORT: Final = 12379
ETCD_PEER_PORT: Final = 12380
CONTROLLER_MANAGER_PORT: Final = 10257
SCHEDULER_PORT: Final = 10259
KUBELET_PORT: Final = 10250
"""On NODE_IP: the API server's exec, logs and port-forward go there."""
KUBELET_HEALTHZ_PORT: Final = 10248
KUBE_PROXY_HEALTHZ_PORT: Final = 10256
KUBE_PROXY_METRICS_PORT: Final = 10249
DNS_PORT: Final = 53
"""On NODE_IP: pods' resolv.conf names it directly."""
DNS_READY_PORT: Final = 18181
S3_PORT: Final = 9000
"""On NODE_IP: moto, the S3 server the pods archive to."""

# --- What the local stack expects to exist ------------------------------------------------
DEFAULT_NAMESPACE: Final = "database"
BUCKET: Final = "pgpitr-local"
S3_REGION: Final = "us-east-1"
S3_CREDENTIALS_SECRET: Final = "backup-store"
PASSWORDS_SECRET: Final = "postgres-passwords"
PASSWORD_KEYS: Final = (kn.SUPERUSER_PASSWORD_KEY, kn.BACKUP_PASSWORD_KEY, kn.MONITOR_PASSWORD_KEY)
"""The keys of `credentials.existingSecret`."""
STORAGE_CLASS: Final = "local"
VOLUME_COUNT: Final = 8
VOLUME_CAPACITY: Final = "50Gi"
"""Nominal (local volumes are directories): pgpitr's default `storage.size`, so a stack
that keeps the default binds too."""
PULUMI_PASSPHRASE: Final = "pgpitr-local-cluster"
"""The local file backend's passphrase. Not a secret: the stack holds no secret value
(the passwords are in the Secrets `cluster up` creates), and a fixed value keeps a
committed Pulumi.local.yaml usable on every machine."""

PAUSE_IMAGE_REPOSITORY: Final = "localhost/pause"
IMAGE_REPOSITORY: Final = "localhost/pgpitr/postgres"
"""pgpitr's image in containerd; `localhost/` so the CRI does not rewrite the name."""
STACK: Final = "local"
"""The stack the scenario deploys: Pulumi.local.yaml."""
STACK_IMAGE_REF: Final = f"{IMAGE_REPOSITORY}:local"
"""The name Pulumi.local.yaml runs (`image.ref`): `cluster up` points it at the newest build
(also imported by digest and by a tag of its build inputs)."""
EXPORTER_IMAGE_REPOSITORY: Final = "localhost/pgpitr/postgres-exporter"
EXPORTER_STACK_IMAGE_REF: Final = f"{EXPORTER_IMAGE_REPOSITORY}:local"
"""The exporter sidecar's image Pulumi.local.yaml runs (`monitoring.exporterImage`),
made by cluster/exporter_image.py from Debian's postgres_exporter."""
CONTAINERD_NAMESPACE: Final = "k8s.io"
FIELD_MANAGER: Final = "pgpitr-cluster"
"""The server-side-apply field manager of the objects `cluster up` creates."""


@dataclass(frozen=True)
class WorkDir:
    """The cluster's files. `run/` is the cluster's data (etcd, containerd, kubelet, the
    volumes) and goes away with `cluster down`; the rest (certificates, passwords, logs,
    the pause image, Pulumi's home and backend) is kept."""

    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def bin(self) -> Path:
        """Links to kubectl and the Pulumi CLI: the PATH `cluster env` exports."""
        return self.root / "bin"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def etcd_data(self) -> Path:
        return self.run / "etcd"

    @property
    def containerd_dir(self) -> Path:
        return self.run / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.containerd_dir / "containerd.sock"

    @property
    def kubelet_root(self) -> Path:
        return self.run / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.run / "pod-logs"

    @property
    def ipam_dir(self) -> Path:
        return self.run / "cni-ipam"

    @property
    def cni_conf_dir(self) -> Path:
        return self.config / "cni"

    @property
    def volumes(self) -> Path:
        return self.run / "volumes"

    @property
    def pulumi_home(self) -> Path:
        return self.root / "pulumi" / "home"

    @property
    def pulumi_backend(self) -> Path:
        return self.root / "pulumi" / "backend"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def kubeconfig(self, user: str) -> Path:
        return self.pki / f"{user}.kubeconfig"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.kubeconfig("admin")


def api_server_url() -> str:
    return f"https://{NODE_IP}:{API_PORT}"


def s3_endpoint() -> str:
    return f"http://{NODE_IP}:{S3_PORT}"
