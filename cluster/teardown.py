"""`cluster down`: every process, pod, container, cgroup, network device, rule, mount and
kernel setting the cluster made goes, and the machine is as it was before the first `up`
(the baseline the state records)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, Final

from cluster import api as k8s
from cluster import host, network, runtime
from cluster.parts import built_parts
from cluster.state import ClusterError, ClusterState
from cluster.supervisor import Supervisor
from harness import mounts
from harness.processes import OWNER_VARIABLE, HarnessError, marked, mentioning, stop_pid, wait_for

POD_DELETION_TIMEOUT: Final = 120.0


def tear_down(cluster: Supervisor) -> dict[str, Any]:
    report: dict[str, Any] = {}
    if cluster.state.baseline is None and not cluster.state.processes:
        # Nothing recorded: the bridge, chains and directories may be another work dir's.
        cluster.step(f"no cluster recorded in {cluster.work.root}: nothing to stop")
        return {"ok": True, "work_dir": str(cluster.work.root), "nothing_recorded": True}
    stop_processes(cluster, report)
    clean_network(cluster, report)
    baseline = cluster.state.baseline
    outside = [path for path in host.OUTSIDE_PATHS if not (baseline and baseline.existing_paths.get(path))]
    left = mounts.unmount_under([cluster.work.root, *outside])
    if left:
        raise ClusterError(f"still mounted after unmounting: {', '.join(left)}")
    cluster.step("unmounted everything under the work dir and kubelet's directories")
    if baseline is not None:
        report["sysctls_restored"] = host.restore_sysctls(baseline.sysctls)
        report["paths_removed"] = host.remove_created_paths(baseline.existing_paths)
        cluster.step(
            f"restored {len(report['sysctls_restored'])} kernel settings, removed {len(report['paths_removed'])} "
            "directories made outside the work dir"
        )
    shutil.rmtree(cluster.work.run, ignore_errors=True)
    shutil.rmtree(cluster.work.pulumi_backend, ignore_errors=True)
    cluster.state = ClusterState()
    cluster.save()
    cluster.step("removed the cluster's data (run/) and the Pulumi stacks describing it")
    return {"ok": True, "work_dir": str(cluster.work.root), **report}


def stop_processes(cluster: Supervisor, report: dict[str, Any]) -> None:
    """The programs in the order that lets nothing restart what was stopped, then the pods'
    processes, containerd's shims and anything else marked as this cluster's."""
    api_up = cluster.running("kube-apiserver") and cluster.api().healthy()
    # Nothing may replace the pods deleted next.
    cluster.stop("kube-controller-manager")
    cluster.stop("kube-scheduler")
    if api_up and cluster.running("kubelet"):
        report["pods_deleted"] = delete_pods(cluster)
    for name in ("kubelet", "kube-proxy", "coredns", "s3"):
        cluster.stop(name)
    if cluster.running("containerd"):
        report["containers_removed"] = len(runtime.remove_all_containers(cluster.work))
        cluster.step(f"removed {report['containers_removed']} containers and their tasks")
    cluster.stop("containerd")
    socket = str(cluster.work.containerd_socket)
    shims = [pid for pid in mentioning(socket, in_environment=False) if pid not in cluster.recorded_pids()]
    for pid in shims:
        stop_pid(pid, 5)
    report["shims_stopped"] = len(shims)
    report["pod_processes_killed"] = remove_kubelet_cgroups()
    for name in ("kube-apiserver", "etcd"):
        cluster.stop(name)
    for name in list(cluster.state.processes):
        cluster.stop(name)
    strays = marked(OWNER_VARIABLE, cluster.state.owners)
    for pid in strays:
        stop_pid(pid, 5)
    report["strays_stopped"] = [command or str(pid) for pid, command in strays.items()]
    cluster.step("every process of the cluster stopped")


def delete_pods(cluster: Supervisor) -> int:
    """Every pod deleted through the API, so kubelet stops them and their sandboxes
    (the runtime then removes their veth and network namespace)."""
    api = cluster.api()
    pods = k8s.items(api, "Pod")
    for pod in pods:
        metadata = pod["metadata"]
        k8s.delete(api, "Pod", metadata["name"], metadata["namespace"], grace_seconds=5)
    cluster.step(f"deleting {len(pods)} pods through kubelet")
    try:
        wait_for(lambda: not k8s.items(api, "Pod"), POD_DELETION_TIMEOUT, "kubelet to stop every pod")
        wait_for(lambda: not network.bridge_ports(), 30, "the pods' veths to be removed")
    except (HarnessError, k8s.ApiError, OSError) as error:  # the forced clean-up below removes what is left
        cluster.step(f"pods not all stopped by kubelet ({error}); removing them directly")
    return len(pods)


def remove_kubelet_cgroups() -> int:
    killed = 0
    for cgroup in host.kubelet_cgroups():
        for pid in host.cgroup_processes(cgroup):
            stop_pid(pid, 5)
            killed += 1
        if not host.remove_cgroup_tree(cgroup):
            raise ClusterError(f"could not remove the cgroup {cgroup}")
    return killed


def clean_network(cluster: Supervisor, report: dict[str, Any]) -> None:
    kube_proxy = built_parts(required=False).kubernetes("kube-proxy")
    if kube_proxy.exists():
        subprocess.run([str(kube_proxy), "--cleanup"], capture_output=True, text=True, timeout=120)
    baseline = cluster.state.baseline
    report["iptables_chains_removed"] = len(network.remove_chains(baseline.iptables_chains if baseline else None))
    if baseline is not None:  # without a record, no table is known to be ours
        report["nft_tables_removed"] = network.remove_tables(baseline.nft_tables)
    network.remove_netns()
    network.remove_bridge()
    cluster.step(
        f"kube-proxy --cleanup, removed {report['iptables_chains_removed']} iptables chains, "
        "the network namespaces, veths and the bridge"
    )
