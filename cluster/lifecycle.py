"""`cluster up`, `down`, `status` and `env`: the steps, in order, and their records.

`up` is idempotent: a running, ready program is left alone, a file that is up to date is
not written again, an image already imported is not imported again. Before the first
`up` it records the machine (kernel settings, directories outside the work dir, iptables
chains, cgroups) so that `down` can put it back exactly.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Final

from cluster import api as k8s
from cluster import disk, host, network, node, objects, pulumi_tools, runtime, s3, teardown
from cluster.config import (
    BRIDGE,
    BUCKET,
    DEFAULT_NAMESPACE,
    EXPORTER_STACK_IMAGE_REF,
    KUBELET_HEALTHZ_PORT,
    MAX_WORK_DIR_LENGTH,
    NODE_IP,
    NODE_NAME,
    PASSWORDS_SECRET,
    PAUSE_IMAGE_REPOSITORY,
    S3_CREDENTIALS_SECRET,
    S3_REGION,
    STACK_IMAGE_REF,
    STORAGE_CLASS,
    api_server_url,
    s3_endpoint,
)
from cluster.exporter_image import exporter_image
from cluster.parts import Parts, built_parts, ensure_packages
from cluster.pki import ensure_pki
from cluster.state import Baseline, ClusterError, Credentials
from cluster.supervisor import Supervisor
from cluster.versions import CLUSTER_KUBERNETES
from harness.processes import wait_for

START_ORDER: Final = (
    "containerd",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "coredns",
    "s3",
)
FORWARDING: Final = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
}
"""Pod to Service to pod on one bridge: routed by the node (ip_forward) and seen by
iptables on the bridge (a Service's replies are un-NATed there)."""
CRD_TIMEOUT: Final = 60.0


class Cluster(Supervisor):
    """The cluster of one work dir: `up`, `status`, `env` and `down`."""

    # --- up -----------------------------------------------------------------------------
    def record_baseline(self) -> None:
        if self.state.baseline is not None:
            return
        self.state.baseline = Baseline(
            sysctls=host.record_sysctls(),
            existing_paths=host.record_paths(),
            iptables_chains=network.all_chains(),
            cgroups=host.top_cgroups(),
            nft_tables=network.nft_tables(),
        )
        self.save()
        self.step("recorded the machine's settings, directories and iptables chains")

    def up(self, namespace: str = DEFAULT_NAMESPACE, with_image: bool = True) -> dict[str, Any]:
        if os.geteuid() != 0:
            raise ClusterError("`cluster up` needs root (bridge, iptables, containerd, kubelet)")
        if len(str(self.work.root)) > MAX_WORK_DIR_LENGTH:
            raise ClusterError(
                f"the work dir {self.work.root} is longer than {MAX_WORK_DIR_LENGTH} characters, too long for the "
                "unix sockets kept in it; pick a shorter --dir"
            )
        ensure_packages(self.progress)
        parts = built_parts()
        self.work.root.mkdir(parents=True, exist_ok=True)
        disk.check_free_space(self.work.root)
        if network.link_exists(BRIDGE) and not self.state.processes and self.state.baseline is None:
            raise ClusterError(f"a bridge {BRIDGE} exists that this work dir did not make; is another cluster running?")
        self.record_baseline()
        if os.getpid() not in self.state.owners:
            self.state.owners.append(os.getpid())
        self.state.namespace = namespace
        self.save()

        network.ensure_bridge()
        for name, value in FORWARDING.items():
            if host.read_sysctl(name) != value:
                host.write_sysctl(name, value)
        network.ensure_isolation()
        self.step(f"bridge {BRIDGE} {NODE_IP}, forwarding on it, rules keeping pod traffic on the machine")

        ensure_pki(self.work)
        self.step(f"certificates and kubeconfigs in {self.work.pki}")

        self.start_containerd(parts)
        self.import_images(parts, with_image)

        self.ensure(node.etcd(self.work, runtime.find_program("etcd")))
        api = self.api()
        self.ensure(
            node.api_server(self.work, self.pki, parts.kubernetes("kube-apiserver"), lambda: api.healthy("/readyz"))
        )
        self.apply_objects(api, namespace, parts.monitoring_crds_dir)
        self.ensure(node.controller_manager(self.work, self.pki, parts.kubernetes("kube-controller-manager")))
        self.ensure(node.scheduler(self.work, parts.kubernetes("kube-scheduler")))
        self.ensure(
            node.kubelet(
                self.work,
                self.pki,
                parts.kubernetes("kubelet"),
                lambda: node.http_ok(f"http://127.0.0.1:{KUBELET_HEALTHZ_PORT}/healthz") and k8s.node_ready(api),
            )
        )
        self.ensure(node.kube_proxy(self.work, parts.kubernetes("kube-proxy")))
        self.ensure(node.coredns(self.work, parts.coredns))
        credentials = Credentials.ensure(self.work)
        self.ensure(node.s3_server(self.work, lambda: s3.answers(credentials)))
        made = s3.ensure_bucket(credentials)
        self.step(f"bucket {BUCKET} {'created' if made else 'present'} at {s3_endpoint()}")
        if not network.isolation_in_place():
            network.ensure_isolation()
        pulumi_tools.ensure_pulumi(self.work, parts, self.progress)
        return self.status()

    def start_containerd(self, parts: Parts) -> None:
        self.work.run.mkdir(parents=True, exist_ok=True)
        network.write_cni_config(self.work)
        sandbox = f"{PAUSE_IMAGE_REPOSITORY}:{CLUSTER_KUBERNETES.pause_version}"
        config = runtime.write_containerd_config(self.work, sandbox)
        argv = runtime.containerd_argv(self.work, config)
        self.ensure(node.containerd(argv, runtime.containerd_env(), lambda: runtime.containerd_ready(self.work)))

    def import_images(self, parts: Parts, with_image: bool) -> None:
        pause = runtime.pause_image(self.work, parts.pause, CLUSTER_KUBERNETES.pause_version)
        self.import_image("pause image", pause)
        if not with_image:
            self.step("pgpitr's image skipped (--without-image)")
            return
        from cluster import image as pgpitr_image
        from cluster.image_contents import ImageError

        try:
            built = pgpitr_image.build()
        except ImageError as error:
            raise ClusterError(f"pgpitr's image: {error}") from None
        archive = runtime.ImageArchive(built.name, built.ref.rsplit("@", 1)[1], built.archive)
        self.state.image_ref = archive.ref
        self.import_image("pgpitr's image", archive, STACK_IMAGE_REF)
        self.import_image("exporter image", exporter_image(self.work), EXPORTER_STACK_IMAGE_REF)

    def import_image(self, title: str, archive: runtime.ImageArchive, alias: str | None = None) -> None:
        """Imports `archive` into containerd unless it is there, also named `alias`, and records it."""
        imported = runtime.ensure_image(self.work, archive, aliases=(alias,) if alias else ())
        self.state.images[archive.name] = archive.digest
        self.save()
        shown = f"{archive.ref}" if alias else archive.name
        also = f", also as {alias}" if alias else ""
        self.step(f"{title} {shown} {'imported' if imported else 'present'}{also}")

    def apply_objects(self, api: k8s.Api, namespace: str, monitoring_crds_dir: Path) -> None:
        for manifest in objects.coredns_access():
            k8s.apply(api, manifest)
        crds = objects.monitoring_crds(monitoring_crds_dir)
        for crd in crds:
            k8s.apply(api, crd)
        for crd in crds:
            name = crd["metadata"]["name"]
            wait_for(functools.partial(k8s.established, api, name), CRD_TIMEOUT, f"the CRD {name} to be established")
        self.step(f"CRDs {', '.join(crd['metadata']['name'] for crd in crds)} established")
        k8s.apply(api, objects.storage_class())
        phases = objects.ensure_volumes(api, self.work)
        credentials = Credentials.ensure(self.work)
        for manifest in objects.stack_objects(namespace, credentials):
            k8s.apply(api, manifest)
        volumes = ", ".join(f"{count} {phase}" for phase, count in sorted(phases.items()))
        self.step(
            f"StorageClass {STORAGE_CLASS}, local volumes ({volumes}), namespace {namespace} with Secrets "
            f"{S3_CREDENTIALS_SECRET} and {PASSWORDS_SECRET}"
        )

    # --- env ----------------------------------------------------------------------------
    def pulumi_env(self) -> dict[str, str]:
        return pulumi_tools.pulumi_env(self.work)

    def env(self) -> str:
        """Shell exports for `eval "$(python -m cluster env)"`."""
        return pulumi_tools.env_exports(self.work)

    # --- status -------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        processes = {
            name: {
                "pid": self.state.processes[name].pid if name in self.state.processes else None,
                "running": self.running(name),
            }
            for name in START_ORDER
        }
        api_ready = self.running("kube-apiserver") and self.pki.cert("admin").is_file() and self.api().healthy()
        nodes_ready = api_ready and k8s.node_ready(self.api())
        everything = all(entry["running"] for entry in processes.values())
        return {
            "ok": bool(everything and nodes_ready),
            "work_dir": str(self.work.root),
            "kubeconfig": str(self.work.admin_kubeconfig),
            "api_server": api_server_url(),
            "api_ready": bool(api_ready),
            "node": NODE_NAME,
            "nodes_ready": bool(nodes_ready),
            "node_ip": NODE_IP,
            "dns": f"{NODE_IP}:53",
            "s3_endpoint": s3_endpoint(),
            "s3_region": S3_REGION,
            "bucket": BUCKET,
            "namespace": self.state.namespace,
            "secrets": {"s3_credentials": S3_CREDENTIALS_SECRET, "database_credentials": PASSWORDS_SECRET},
            "storage_class": STORAGE_CLASS,
            "image": self.state.image_ref,
            "images": dict(self.state.images),
            "processes": processes,
        }

    # --- down ---------------------------------------------------------------------------
    def down(self) -> dict[str, Any]:
        return teardown.tear_down(self)
