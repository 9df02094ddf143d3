"""The cluster's programs: etcd, the control plane, the node (kubelet, kube-proxy), DNS
and the S3 server; their command lines, configuration files and readiness checks.

Each listens on loopback or on NODE_IP only (../shared/CLUSTER.md, "Network rules").
DNS is CoreDNS as a host process on NODE_IP:53, which kubelet writes into every pod's
resolv.conf (no Service in between); it serves cluster.local and its reverse zones and
forwards nothing.
"""

from __future__ import annotations

import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cluster.config import (
    API_PORT,
    CLUSTER_DOMAIN,
    CONTROLLER_MANAGER_PORT,
    DNS_PORT,
    DNS_READY_PORT,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    KUBE_PROXY_HEALTHZ_PORT,
    KUBE_PROXY_METRICS_PORT,
    KUBELET_HEALTHZ_PORT,
    KUBELET_PORT,
    NODE_IP,
    NODE_NAME,
    POD_CIDR,
    S3_PORT,
    SCHEDULER_PORT,
    SERVICE_CIDR,
    WorkDir,
)
from cluster.disk import EVICTION_FREE_PERCENT
from cluster.pki import API_SERVER, API_SERVER_KUBELET_CLIENT, KUBELET_SERVING, Pki
from cluster.state import write_if_changed
from harness.paths import REPOSITORY_ROOT

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Program:
    """One long-running process of the cluster."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    timeout: float
    env: dict[str, str] = field(default_factory=dict)


def base_env(work: WorkDir) -> dict[str, str]:
    return {"PATH": SYSTEM_PATH, "HOME": str(work.root), "LANG": "C.UTF-8"}


def http_ok(url: str, context: ssl.SSLContext | None = None, expect: str | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as response:
            body = bytes(response.read()).decode(errors="replace")
            return response.status == 200 and (expect is None or expect in body)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def unverified() -> ssl.SSLContext:
    """For the health endpoints of components that serve a self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def etcd(work: WorkDir, binary: str) -> Program:
    client = f"http://127.0.0.1:{ETCD_CLIENT_PORT}"
    peer = f"http://127.0.0.1:{ETCD_PEER_PORT}"
    return Program(
        "etcd",
        [
            binary,
            "--name=pgpitr",
            f"--data-dir={work.etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=pgpitr={peer}",
            "--initial-cluster-state=new",
            "--logger=zap",
            "--log-outputs=stderr",
        ],
        lambda: http_ok(f"{client}/health", expect='"health":"true"'),
        60,
    )


def api_server(work: WorkDir, pki: Pki, binary: Path, ready: Callable[[], bool]) -> Program:
    return Program(
        "kube-apiserver",
        [
            str(binary),
            f"--advertise-address={NODE_IP}",
            f"--bind-address={NODE_IP}",
            f"--secure-port={API_PORT}",
            f"--etcd-servers=http://127.0.0.1:{ETCD_CLIENT_PORT}",
            f"--client-ca-file={pki.ca}",
            f"--tls-cert-file={pki.cert(API_SERVER.name)}",
            f"--tls-private-key-file={pki.key(API_SERVER.name)}",
            f"--kubelet-client-certificate={pki.cert(API_SERVER_KUBELET_CLIENT.name)}",
            f"--kubelet-client-key={pki.key(API_SERVER_KUBELET_CLIENT.name)}",
            f"--kubelet-certificate-authority={pki.ca}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
            f"--service-account-key-file={pki.service_account_public}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=false",
            "--profiling=false",
            f"--cert-dir={work.run / 'kube-apiserver'}",
        ],
        ready,
        120,
    )


def _component_auth(kubeconfig: Path) -> list[str]:
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
        "--profiling=false",
    ]


def controller_manager(work: WorkDir, pki: Pki, binary: Path) -> Program:
    return Program(
        "kube-controller-manager",
        [
            str(binary),
            *_component_auth(work.kubeconfig("controller-manager")),
            f"--secure-port={CONTROLLER_MANAGER_PORT}",
            f"--cert-dir={work.run / 'kube-controller-manager'}",
            f"--root-ca-file={pki.ca}",
            f"--service-account-private-key-file={pki.service_account_key}",
            "--use-service-account-credentials=true",
            f"--cluster-signing-cert-file={pki.ca}",
            f"--cluster-signing-key-file={pki.ca_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allocate-node-cidrs=false",
            "--cluster-name=pgpitr-local",
        ],
        lambda: http_ok(f"https://127.0.0.1:{CONTROLLER_MANAGER_PORT}/healthz", unverified(), "ok"),
        60,
    )


def scheduler(work: WorkDir, binary: Path) -> Program:
    return Program(
        "kube-scheduler",
        [
            str(binary),
            *_component_auth(work.kubeconfig("scheduler")),
            f"--secure-port={SCHEDULER_PORT}",
            f"--cert-dir={work.run / 'kube-scheduler'}",
        ],
        lambda: http_ok(f"https://127.0.0.1:{SCHEDULER_PORT}/healthz", unverified(), "ok"),
        60,
    )


def kubelet_config(work: WorkDir, pki: Pki) -> dict[str, Any]:
    """../shared/CLUSTER.md pitfalls 1, 2 and 7: cgroupfs, cgroup v1 allowed, NODE_IP.
    Pod logs and volume plugins stay in the work dir; images are never collected (they
    cannot be pulled again here); eviction thresholds low enough for a shared disk."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.ca)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki.cert(KUBELET_SERVING.name)),
        "tlsPrivateKeyFile": str(pki.key(KUBELET_SERVING.name)),
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{work.containerd_socket}",
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [NODE_IP],
        "podLogsDir": str(work.pod_logs),
        "volumePluginDir": str(work.run / "volume-plugins"),
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": f"{EVICTION_FREE_PERCENT}%",
            "imagefs.available": f"{EVICTION_FREE_PERCENT}%",
            "nodefs.inodesFree": "2%",
        },
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "protectKernelDefaults": False,
        "maxPods": 40,
        "shutdownGracePeriod": "0s",
        "containerLogMaxSize": "10Mi",
    }


def kubelet(work: WorkDir, pki: Pki, binary: Path, ready: Callable[[], bool]) -> Program:
    config = work.config / "kubelet.yaml"
    write_if_changed(config, yaml.safe_dump(kubelet_config(work, pki), sort_keys=False))
    return Program(
        "kubelet",
        [
            str(binary),
            f"--config={config}",
            f"--kubeconfig={work.kubeconfig('kubelet')}",
            f"--root-dir={work.kubelet_root}",
            f"--node-ip={NODE_IP}",
            f"--hostname-override={NODE_NAME}",
            "--oom-score-adj=0",
        ],
        ready,
        120,
    )


def kube_proxy_config(work: WorkDir) -> dict[str, Any]:
    """iptables mode on the pod network; every machine-wide setting left as it is
    (conntrack limits and timeouts 0, no localhost NodePorts, no OOM score change)."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(work.kubeconfig("kube-proxy"))},
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{KUBE_PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": f"127.0.0.1:{KUBE_PROXY_METRICS_PORT}",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "oomScoreAdj": 0,
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
            "udpTimeout": "0s",
            "udpStreamTimeout": "0s",
        },
    }


def kube_proxy(work: WorkDir, binary: Path) -> Program:
    config = work.config / "kube-proxy.yaml"
    write_if_changed(config, yaml.safe_dump(kube_proxy_config(work), sort_keys=False))
    return Program(
        "kube-proxy",
        [str(binary), f"--config={config}"],
        lambda: http_ok(f"http://127.0.0.1:{KUBE_PROXY_HEALTHZ_PORT}/healthz"),
        60,
    )


def corefile(work: WorkDir) -> str:
    return f"""# Written by `python -m cluster up`; see cluster/node.py.
{CLUSTER_DOMAIN}:{DNS_PORT} in-addr.arpa:{DNS_PORT} ip6.arpa:{DNS_PORT} {{
    bind {NODE_IP}
    errors
    ready 127.0.0.1:{DNS_READY_PORT}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {work.kubeconfig("coredns")} pgpitr-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 30
}}
"""


def coredns(work: WorkDir, binary: Path) -> Program:
    config = work.config / "Corefile"
    write_if_changed(config, corefile(work))
    return Program(
        "coredns",
        [str(binary), "-conf", str(config)],
        lambda: http_ok(f"http://127.0.0.1:{DNS_READY_PORT}/ready"),
        60,
    )


def s3_server(work: WorkDir, ready: Callable[[], bool]) -> Program:
    """moto on NODE_IP (a server bound to loopback is unreachable from pods)."""
    return Program(
        "s3",
        [sys.executable, "-m", "moto.server", "-H", NODE_IP, "-p", str(S3_PORT)],
        ready,
        60,
        {"PYTHONPATH": str(REPOSITORY_ROOT)},
    )


def containerd(argv: list[str], env: dict[str, str], ready: Callable[[], bool]) -> Program:
    return Program("containerd", argv, ready, 60, env)
