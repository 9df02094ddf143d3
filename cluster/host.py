"""The machine-wide things a cluster changes whatever its flags say, recorded before
`cluster up` and put back by `cluster down`: kernel settings, directories outside the
work dir, mounts, cgroups, and the processes left in them."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Final

SYSCTLS: Final = (
    # kubelet (container_manager_linux setupKernelTunables)
    "kernel.panic",
    "kernel.panic_on_oops",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    # forwarding between pods on the bridge (set by `cluster up`, and by the bridge plugin)
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.forwarding",
    "net.ipv4.conf.default.forwarding",
    "net.ipv6.conf.all.forwarding",
    # a Service's replies between pods on one bridge pass through iptables only with these
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.bridge.bridge-nf-call-arptables",
    # kube-proxy (its configuration asks it to leave them alone; recorded anyway)
    "net.ipv4.conf.all.route_localnet",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
    "net.netfilter.nf_conntrack_tcp_be_liberal",
)
"""Kernel settings the cluster changes or may change, restored by `cluster down`."""

OUTSIDE_PATHS: Final = (
    "/var/lib/kubelet",
    "/var/log/containers",
    "/var/log/pods",
    "/var/lib/cni",
    "/run/netns",
    "/run/containerd",
    "/var/lib/containerd",
    "/opt/containerd",
    "/etc/cni",
    "/opt/cni",
    "/etc/kubernetes",
    "/usr/libexec/kubernetes",
    "/var/lib/etcd",
)
"""Directories kubelet, containerd, the CNI plugins and etcd create outside the work dir
even when told to keep their data elsewhere (device plugins, container log links, CNI's
result cache, network namespaces, shim sockets), or would with other flags."""

CGROUP_ROOT: Final = Path("/sys/fs/cgroup")
KUBELET_CGROUPS: Final = ("kubepods", "kubepods.slice")


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def read_sysctl(name: str) -> str | None:
    try:
        return " ".join(_sysctl_path(name).read_text().split())
    except OSError:
        return None


def write_sysctl(name: str, value: str) -> None:
    _sysctl_path(name).write_text(value + "\n")


def record_sysctls() -> dict[str, str]:
    """The current value of every setting in SYSCTLS this kernel has."""
    found = {}
    for name in SYSCTLS:
        value = read_sysctl(name)
        if value is not None:
            found[name] = value
    return found


def restore_sysctls(recorded: dict[str, str]) -> list[str]:
    """Writes back what differs; ip_forward first (writing it resets every interface's
    forwarding). Returns the names it changed."""
    changed = []
    ordered = sorted(recorded, key=lambda name: name != "net.ipv4.ip_forward")
    for name in ordered:
        if read_sysctl(name) != recorded[name]:
            write_sysctl(name, recorded[name])
            changed.append(name)
    return changed


def record_paths(paths: Iterable[str] = OUTSIDE_PATHS) -> dict[str, bool]:
    return {path: os.path.lexists(path) for path in paths}


def remove_created_paths(existed: dict[str, bool]) -> list[str]:
    """Removes the directories of OUTSIDE_PATHS that did not exist before; returns them."""
    removed = []
    for path, was_there in existed.items():
        if not was_there and os.path.lexists(path):
            if Path(path).is_dir() and not Path(path).is_symlink():
                shutil.rmtree(path)
            else:
                Path(path).unlink()
            removed.append(path)
    return removed


def cgroup_hierarchies() -> list[Path]:
    """Each mounted cgroup v1 hierarchy (and the v2 one if mounted under /sys/fs/cgroup)."""
    if not CGROUP_ROOT.is_dir():
        return []
    return sorted(entry for entry in CGROUP_ROOT.iterdir() if entry.is_dir() and not entry.is_symlink())


def top_cgroups() -> list[str]:
    """The first-level cgroups of every hierarchy, as "hierarchy/name"."""
    found = []
    for hierarchy in cgroup_hierarchies():
        with contextlib.suppress(OSError):
            found += [f"{hierarchy.name}/{entry.name}" for entry in hierarchy.iterdir() if entry.is_dir()]
    return sorted(found)


def kubelet_cgroups() -> list[Path]:
    return [
        hierarchy / name
        for hierarchy in cgroup_hierarchies()
        for name in KUBELET_CGROUPS
        if (hierarchy / name).is_dir()
    ]


def cgroup_processes(cgroup: Path) -> set[int]:
    pids: set[int] = set()
    for procs in cgroup.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids |= {int(line) for line in procs.read_text().split()}
    return pids


def remove_cgroup_tree(cgroup: Path) -> bool:
    """rmdir of a cgroup and its children, deepest first; False if one stays (busy)."""
    directories = sorted((path for path in cgroup.rglob("*") if path.is_dir()), key=lambda p: len(p.parts))
    for directory in [*reversed(directories), cgroup]:
        with contextlib.suppress(FileNotFoundError):
            try:
                directory.rmdir()
            except OSError:
                return False
    return True
