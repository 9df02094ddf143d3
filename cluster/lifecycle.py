"""`cluster up`, `down`, `status` and `env`: the steps, in order, and their records.

`up` is idempotent: a running, ready program is left alone, a file that is up to date is
not written again, an image already imported is not imported again. Before the first
`up` it records the machine (kernel settings, directories outside the work dir, iptables
chains, cgroups) so that `down` can put it back exactly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cluster import api as k8s
from cluster import disk, host, network, node, objects, runtime, s3
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
    PULUMI_PASSPHRASE,
    S3_CREDENTIALS_SECRET,
    S3_REGION,
    STACK_IMAGE_REF,
    STORAGE_CLASS,
    WorkDir,
    api_server_url,
    s3_endpoint,
)
from cluster.exporter_image import exporter_image
from cluster.pki import Pki, ensure_pki
from cluster.state import Baseline, ClusterError, ClusterState, Credentials, ProcessRecord, Progress
from cluster.versions import CLUSTER_KUBERNETES, CLUSTER_PULUMI_KUBERNETES
from harness import mounts
from harness.debian import PackagesError, install_missing
from harness.processes import OWNER_VARIABLE, HarnessError, alive, start_background, stop_pid, wait_for

RUNTIME_PACKAGES: Final = (
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "nftables",
    "etcd-server",
    "prometheus-postgres-exporter",
)
"""nftables for `nft`: iptables-nft cannot remove the tables it makes, so `down` does; the
exporter for the sidecar's image (cluster/exporter_image.py)."""
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
POD_DELETION_TIMEOUT: Final = 120.0
CRD_TIMEOUT: Final = 60.0
PULUMI_LINKS: Final = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")


# --- The built parts -------------------------------------------------------------------


@dataclass(frozen=True)
class Parts:
    kubernetes_dir: Path
    pause: Path
    coredns: Path
    pulumi_dir: Path | None
    """None until the Pulumi CLI is built (`up` works without it; `env` needs it)."""
    kubernetes_provider: Path | None
    monitoring_crds_dir: Path

    def kubernetes(self, program: str) -> Path:
        return self.kubernetes_dir / program


def _built(name: str) -> Path | None:
    from cluster import toolchain

    build = toolchain.build_named(name)
    directory = toolchain.build_directory(build)
    return directory if toolchain.is_complete(build, directory) else None


def built_parts(required: bool = True) -> Parts:
    """Where cluster/toolchain.py put its builds; a ClusterError names what is missing."""
    needed = ("kubernetes", "pause", "coredns", "monitoring-crds")
    found = {name: _built(name) for name in (*needed, "pulumi", "pulumi-kubernetes")}
    missing = [name for name in needed if found[name] is None]
    if missing and required:
        raise ClusterError(f"{', '.join(missing)} not built yet; run `python -m cluster.toolchain` first")
    kubernetes, pause, coredns, crds = (found[name] or Path("/nonexistent") for name in needed)
    pulumi, provider = found["pulumi"], found["pulumi-kubernetes"]
    return Parts(
        kubernetes_dir=kubernetes,
        pause=pause / "pause",
        coredns=coredns / "coredns",
        pulumi_dir=pulumi,
        kubernetes_provider=provider / "pulumi-resource-kubernetes" if provider else None,
        monitoring_crds_dir=crds,
    )


def ensure_packages(progress: Progress) -> None:
    try:
        installed = install_missing(RUNTIME_PACKAGES)
    except PackagesError as error:
        raise ClusterError(str(error)) from None
    if installed:
        progress.step(f"installed Debian packages {' '.join(installed)}")
    else:
        progress.step(f"Debian packages present ({' '.join(RUNTIME_PACKAGES)})")


def log_tail(path: Path, lines: int = 3) -> str:
    try:
        found = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return " | ".join(found[-lines:]) or "(empty log)"


# --- The harness -------------------------------------------------------------------------


class Cluster:
    def __init__(self, work: WorkDir, progress: Progress | None = None) -> None:
        self.work = work
        self.progress = progress or Progress()
        self.state = ClusterState.load(work)
        self.pki = Pki(work.pki)

    def step(self, message: str) -> None:
        self.progress.step(message)

    def save(self) -> None:
        self.state.save(self.work)

    # --- processes --------------------------------------------------------------------
    def running(self, name: str) -> bool:
        record = self.state.processes.get(name)
        return record is not None and alive(record.pid) and host.command_line(record.pid)[:1] == [record.program]

    def ensure(self, program: node.Program) -> None:
        """Starts the program unless it runs; either way waits until it is ready."""
        log = self.work.log(program.name)
        fingerprint = self.fingerprint(program)
        verb = "started"
        if self.running(program.name):
            if self.state.processes[program.name].fingerprint == fingerprint:
                verb = "running"
            else:
                self.stop(program.name)
                verb = "restarted (configuration changed)"
        if verb == "running":
            pid = self.state.processes[program.name].pid
        else:
            env = node.base_env(self.work) | program.env
            pid = start_background(program.argv, env, log, container=False)
            self.state.processes[program.name] = ProcessRecord(pid, program.argv[0], str(log), fingerprint)
            self.save()

        def ready() -> bool:
            if not alive(pid):
                raise ClusterError(f"{program.name} exited: {log_tail(log)} (log: {log})")
            return program.ready()

        wait_for(ready, program.timeout, f"{program.name} to be ready (log: {log})")
        self.step(f"{program.name} {verb}, ready (pid {pid})")

    def fingerprint(self, program: node.Program) -> str:
        """The command line and the content of the work dir's configuration files it names."""
        digest = hashlib.sha256(json.dumps(program.argv).encode())
        for argument in program.argv:
            path = Path(argument.split("=", 1)[-1])
            if path.is_relative_to(self.work.config) and path.is_file():
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def stop(self, name: str, timeout: float = 30) -> None:
        if self.running(name):
            stop_pid(self.state.processes[name].pid, timeout)
            self.step(f"stopped {name}")
        self.state.processes.pop(name, None)
        self.save()

    def api(self) -> k8s.Api:
        return k8s.Api(self.pki)

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
        self.ensure_pulumi(parts)
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

    def ensure_pulumi(self, parts: Parts) -> None:
        """Links to kubectl and the Pulumi CLI in the work dir's bin/, and the Kubernetes
        provider installed in its PULUMI_HOME (the CLI never downloads a plugin), and the
        local backend's directory."""
        self.link_programs(parts)
        self.work.pulumi_backend.mkdir(parents=True, exist_ok=True)
        if parts.pulumi_dir is None or parts.kubernetes_provider is None:
            self.step("Pulumi CLI or its Kubernetes provider not built yet: skipped the provider plugin")
            return
        version = CLUSTER_PULUMI_KUBERNETES.version
        installed = self.work.pulumi_home / "plugins" / f"resource-kubernetes-v{version}" / "pulumi-resource-kubernetes"
        if installed.is_file():
            self.step(f"Pulumi Kubernetes provider {version} installed in {self.work.pulumi_home}")
            return
        argv = [str(parts.pulumi_dir / "pulumi"), "plugin", "install", "resource", "kubernetes", version]
        argv += ["--file", str(parts.kubernetes_provider)]
        env = {**os.environ, **self.pulumi_env()}
        result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
        if result.returncode != 0 or not installed.is_file():
            lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
            raise ClusterError(f"`pulumi plugin install` failed: {(lines or ['no output'])[-1]}")
        self.step(f"Pulumi Kubernetes provider {version} installed in {self.work.pulumi_home}")

    def link_programs(self, parts: Parts) -> None:
        targets = {"kubectl": parts.kubernetes("kubectl")}
        if parts.pulumi_dir is not None:
            targets |= {name: parts.pulumi_dir / name for name in PULUMI_LINKS}
        self.work.bin.mkdir(parents=True, exist_ok=True)
        for name, target in targets.items():
            link = self.work.bin / name
            if not target.exists():
                continue
            if link.is_symlink() and link.readlink() == target:
                continue
            link.unlink(missing_ok=True)
            link.symlink_to(target)

    # --- env ----------------------------------------------------------------------------
    def pulumi_env(self) -> dict[str, str]:
        return {
            "KUBECONFIG": str(self.work.admin_kubeconfig),
            "PULUMI_HOME": str(self.work.pulumi_home),
            "PULUMI_BACKEND_URL": f"file://{self.work.pulumi_backend}",
            "PULUMI_CONFIG_PASSPHRASE": PULUMI_PASSPHRASE,
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }

    def env(self) -> str:
        """Shell exports for `eval "$(python -m cluster env)"`."""
        parts = built_parts(required=False)
        self.work.pulumi_backend.mkdir(parents=True, exist_ok=True)
        self.work.pulumi_home.mkdir(parents=True, exist_ok=True)
        if parts.kubernetes("kubectl").exists():
            self.link_programs(parts)
        lines = [f"export {name}={shlex.quote(value)}" for name, value in self.pulumi_env().items()]
        lines.append(f'export PATH={shlex.quote(str(self.work.bin))}:"$PATH"')
        return "\n".join(lines) + "\n"

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
        report: dict[str, Any] = {}
        if self.state.baseline is None and not self.state.processes:
            # Nothing recorded: the bridge, chains and directories may be another work dir's.
            self.step(f"no cluster recorded in {self.work.root}: nothing to stop")
            return {"ok": True, "work_dir": str(self.work.root), "nothing_recorded": True}
        api_up = self.running("kube-apiserver") and self.api().healthy()
        # Nothing may replace the pods deleted next.
        self.stop("kube-controller-manager")
        self.stop("kube-scheduler")
        if api_up and self.running("kubelet"):
            report["pods_deleted"] = self.delete_pods()
        for name in ("kubelet", "kube-proxy", "coredns", "s3"):
            self.stop(name)
        if self.running("containerd"):
            report["containers_removed"] = len(runtime.remove_all_containers(self.work))
            self.step(f"removed {report['containers_removed']} containers and their tasks")
        self.stop("containerd")
        socket = str(self.work.containerd_socket).encode()
        shims = [pid for pid in host.processes_with(socket) if pid not in self.recorded_pids()]
        for pid in shims:
            stop_pid(pid, 5)
        report["shims_stopped"] = len(shims)
        report["pod_processes_killed"] = self.remove_kubelet_cgroups()
        for name in ("kube-apiserver", "etcd"):
            self.stop(name)
        for name in list(self.state.processes):
            self.stop(name)
        strays = host.processes_marked(OWNER_VARIABLE, self.state.owners)
        for pid in strays:
            stop_pid(pid, 5)
        report["strays_stopped"] = [" ".join(host.command_line(pid)) or str(pid) for pid in strays]
        self.step("every process of the cluster stopped")

        self.clean_network(report)
        baseline = self.state.baseline
        outside = [path for path in host.OUTSIDE_PATHS if not (baseline and baseline.existing_paths.get(path))]
        left = mounts.unmount_under([self.work.root, *outside])
        if left:
            raise ClusterError(f"still mounted after unmounting: {', '.join(left)}")
        self.step("unmounted everything under the work dir and kubelet's directories")
        if baseline is not None:
            report["sysctls_restored"] = host.restore_sysctls(baseline.sysctls)
            report["paths_removed"] = host.remove_created_paths(baseline.existing_paths)
            self.step(
                f"restored {len(report['sysctls_restored'])} kernel settings, removed {len(report['paths_removed'])} "
                "directories made outside the work dir"
            )
        shutil.rmtree(self.work.run, ignore_errors=True)
        shutil.rmtree(self.work.pulumi_backend, ignore_errors=True)
        self.state = ClusterState()
        self.save()
        self.step("removed the cluster's data (run/) and the Pulumi stacks describing it")
        return {"ok": True, "work_dir": str(self.work.root), **report}

    def recorded_pids(self) -> set[int]:
        return {record.pid for record in self.state.processes.values()}

    def delete_pods(self) -> int:
        """Every pod deleted through the API, so kubelet stops them and their sandboxes
        (the runtime then removes their veth and network namespace)."""
        api = self.api()
        pods = k8s.items(api, "Pod")
        for pod in pods:
            metadata = pod["metadata"]
            k8s.delete(api, "Pod", metadata["name"], metadata["namespace"], grace_seconds=5)
        self.step(f"deleting {len(pods)} pods through kubelet")
        try:
            wait_for(lambda: not k8s.items(api, "Pod"), POD_DELETION_TIMEOUT, "kubelet to stop every pod")
            wait_for(lambda: not network.bridge_ports(), 30, "the pods' veths to be removed")
        except (HarnessError, k8s.ApiError, OSError) as error:  # the forced clean-up below removes what is left
            self.step(f"pods not all stopped by kubelet ({error}); removing them directly")
        return len(pods)

    def remove_kubelet_cgroups(self) -> int:
        killed = 0
        for cgroup in host.kubelet_cgroups():
            for pid in host.cgroup_processes(cgroup):
                stop_pid(pid, 5)
                killed += 1
            if not host.remove_cgroup_tree(cgroup):
                raise ClusterError(f"could not remove the cgroup {cgroup}")
        return killed

    def clean_network(self, report: dict[str, Any]) -> None:
        kube_proxy = built_parts(required=False).kubernetes("kube-proxy")
        if kube_proxy.exists():
            subprocess.run([str(kube_proxy), "--cleanup"], capture_output=True, text=True, timeout=120)
        keep = self.state.baseline.iptables_chains if self.state.baseline else None
        report["iptables_chains_removed"] = len(network.remove_chains(keep))
        if self.state.baseline is not None:  # without a record, no table is known to be ours
            report["nft_tables_removed"] = network.remove_tables(self.state.baseline.nft_tables)
        network.remove_netns()
        network.remove_bridge()
        self.step(
            f"kube-proxy --cleanup, removed {report['iptables_chains_removed']} iptables chains, "
            "the network namespaces, veths and the bridge"
        )
