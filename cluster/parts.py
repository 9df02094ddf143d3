"""The programs cluster/toolchain.py builds, where they are, and the Debian packages the
cluster runs with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cluster.state import ClusterError, Progress
from harness.debian import PackagesError, install_missing

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
