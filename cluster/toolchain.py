"""Builds and caches the programs of the local cluster.

Kubernetes' six programs (one `go build`), the pause program, CoreDNS, the Pulumi CLI with
its Python language host, the Kubernetes provider, and the Prometheus Operator's PodMonitor
and PrometheusRule CRDs (controller-gen) are built from source by the scripts
in cluster/build/, from the versions in cluster/versions.py, and cached under
.tools/<name>/<version>-<digest of the build's inputs>/: a changed version, flag, script
or Go release never reuses a stale build, and a run with the caches present takes seconds.
etcd, containerd, runc, the CNI plugins, iptables and debootstrap come from Debian
(cluster.versions.CLUSTER_DEBIAN_PACKAGES).

Builds run one at a time under `nice -n 19`, so other work on the machine keeps the CPU;
PGPITR_GO_JOBS=N also limits each Go build to N cores (GOMAXPROCS and `go build -p`).
They share Go's module and build caches (GOMODCACHE, GOCACHE; Go's own unless set).

`python -m cluster.toolchain` installs and builds what is missing, with one progress line
per step on stderr, and prints where everything is as one JSON object on stdout.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cluster.versions import (
    CLUSTER_COREDNS,
    CLUSTER_DEBIAN_PACKAGES,
    CLUSTER_KUBERNETES,
    CLUSTER_MONITORING_CRDS,
    CLUSTER_PULUMI,
    CLUSTER_PULUMI_KUBERNETES,
)
from harness.build_cache import BuildError, build_with_script, inputs_digest
from harness.debian import PackagesError, install_missing
from harness.paths import REPOSITORY_ROOT, TOOLS_DIR, shown
from harness.progress import Progress

BUILD_DIR = REPOSITORY_ROOT / "cluster" / "build"
SHARED_PULUMI_DIR = REPOSITORY_ROOT.parent / "shared" / "third_party" / "pulumi"
"""Where this project's machines keep the Python language host's source (../shared beside the clone)."""
GO_JOBS_VARIABLE = "PGPITR_GO_JOBS"
PROGRESS = "cluster.toolchain"

SYSTEM_PROGRAMS = ("etcd", "containerd", "containerd-shim-runc-v2", "ctr", "runc", "iptables", "debootstrap")
"""Programs of the Debian packages the cluster runs."""
CNI_DIR = Path("/usr/lib/cni")
"""Debian's containernetworking-plugins."""
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


class ToolchainError(RuntimeError):
    """A part of the cluster is missing or failed to build; the message says which and why."""


@dataclass(frozen=True)
class Build:
    """One cached build: a script of cluster/build/ run with its input in the environment."""

    name: str
    """The cache's folder under .tools/."""
    version: str
    title: str
    """What the progress lines call it."""
    script: str
    environment: dict[str, str]
    """The build's input, part of its cache key."""
    outputs: tuple[str, ...]
    """Files the build leaves in its folder."""
    compilers: tuple[str, ...]
    """Whose versions are part of the cache key: "go", "gcc"."""
    local_environment: dict[str, str] = field(default_factory=dict)
    """Input that depends on the machine (paths of checked files), not part of the key."""


def builds() -> tuple[Build, ...]:
    """Everything built from source, in the order it is built."""
    kubernetes, coredns, pulumi, provider = (
        CLUSTER_KUBERNETES,
        CLUSTER_COREDNS,
        CLUSTER_PULUMI,
        CLUSTER_PULUMI_KUBERNETES,
    )
    return (
        Build(
            name="kubernetes",
            version=kubernetes.version,
            title=f"Kubernetes {kubernetes.version} ({', '.join(kubernetes.commands)})",
            script="build-kubernetes.sh",
            environment=kubernetes.build_environment(),
            outputs=kubernetes.commands,
            compilers=("go",),
        ),
        Build(
            name="pause",
            version=kubernetes.pause_version,
            title=f"pause {kubernetes.pause_version} from Kubernetes {kubernetes.version}",
            script="build-pause.sh",
            environment=kubernetes.pause_build_environment(),
            outputs=("pause",),
            compilers=("gcc",),
        ),
        Build(
            name="coredns",
            version=coredns.version,
            title=f"CoreDNS {coredns.version}",
            script="build-coredns.sh",
            environment=coredns.build_environment(),
            outputs=("coredns",),
            compilers=("go",),
        ),
        Build(
            name="pulumi",
            version=pulumi.version,
            title=f"Pulumi CLI {pulumi.version} and Python language host {pulumi.language_host_version}",
            script="build-pulumi.sh",
            environment=pulumi.build_environment(),
            outputs=("pulumi", "pulumi-language-python", "pulumi-language-python-exec"),
            compilers=("go",),
            local_environment={"PULUMI_LANGUAGE_HOST_TARBALL": str(SHARED_PULUMI_DIR / pulumi.language_host_tarball)},
        ),
        Build(
            name="pulumi-kubernetes",
            version=provider.version,
            title=f"Pulumi Kubernetes provider {provider.version}",
            script="build-pulumi-kubernetes.sh",
            environment=provider.build_environment(),
            outputs=("pulumi-resource-kubernetes",),
            compilers=("go",),
        ),
        Build(
            name="monitoring-crds",
            version=CLUSTER_MONITORING_CRDS.version,
            title=f"PodMonitor and PrometheusRule CRDs of the Prometheus Operator {CLUSTER_MONITORING_CRDS.version}",
            script="build-monitoring-crds.sh",
            environment=CLUSTER_MONITORING_CRDS.build_environment(),
            outputs=CLUSTER_MONITORING_CRDS.file_names(),
            compilers=("go",),
        ),
    )


def build_named(name: str) -> Build:
    return next(build for build in builds() if build.name == name)


@functools.cache
def compiler_version(compiler: str) -> str:
    """`go env GOVERSION` or `gcc -dumpfullversion`: another compiler makes another binary."""
    command = {"go": ["go", "env", "GOVERSION"], "gcc": ["gcc", "-dumpfullversion"]}[compiler]
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{compiler} missing"


def build_key(build: Build) -> str:
    """The version and a digest of everything that shapes the result: the input, the
    compilers' versions and the build's scripts."""
    inputs = {
        "name": build.name,
        "version": build.version,
        "environment": build.environment,
        "outputs": build.outputs,
        "compilers": {compiler: compiler_version(compiler) for compiler in build.compilers},
    }
    scripts = (BUILD_DIR / "lib.sh", BUILD_DIR / build.script)
    return f"{build.version}-{inputs_digest(inputs, scripts, root=BUILD_DIR)}"


def build_directory(build: Build) -> Path:
    return TOOLS_DIR / build.name / build_key(build)


def is_complete(build: Build, directory: Path) -> bool:
    return all((directory / output).is_file() for output in build.outputs)


def go_job_limits() -> dict[str, str]:
    """PGPITR_GO_JOBS=N: at most N cores per Go build; unset, Go uses them all."""
    jobs = os.environ.get(GO_JOBS_VARIABLE, "").strip()
    if not jobs:
        return {}
    if not jobs.isdigit() or int(jobs) < 1:
        raise ToolchainError(f"{GO_JOBS_VARIABLE}={jobs} is not a number of cores; set it to 1 or more, or unset it")
    return {"GOMAXPROCS": jobs, "GOFLAGS": f"{os.environ.get('GOFLAGS', '')} -p={jobs}".strip()}


def progress(message: str, started: float) -> None:
    Progress(PROGRESS, started, decimals=0).step(message)


def build_command(build: Build, output: Path) -> list[str]:
    """`bash <script> <output>`, at the lowest priority when `nice` is there."""
    command = ["bash", str(BUILD_DIR / build.script), str(output)]
    return ["nice", "-n", "19", *command] if shutil.which("nice") else command


def ensure_built(build: Build, started: float) -> Path:
    """The build's folder, built first unless the cache has it (harness.build_cache)."""
    directory = build_directory(build)
    if is_complete(build, directory):
        progress(f"{build.title}: cached in {shown(directory)}", started)
        return directory
    if shutil.which("go") is None:
        raise ToolchainError(f"building {build.title} needs the Go toolchain; install Go 1.26 or newer")
    if "gcc" in build.compilers and shutil.which("gcc") is None:
        raise ToolchainError(f"building {build.title} needs gcc; run `python -m cluster.toolchain` (Debian packages)")
    timing: dict[str, float] = {}

    def finish(partial: Path) -> None:
        missing = [output for output in build.outputs if not (partial / output).is_file()]
        if missing:
            raise BuildError(f"building {build.title} left no {', '.join(missing)} (full log: {partial / 'build.log'})")
        timing["seconds"] = round(time.monotonic() - build_started, 1)
        record = {
            "key": build_key(build),
            "seconds": timing["seconds"],
            "go_jobs": os.environ.get(GO_JOBS_VARIABLE) or None,
        }
        (partial / "build.json").write_text(json.dumps(record, indent=2) + "\n")

    progress(f"building {build.title} into {shown(directory)}", started)
    build_started = time.monotonic()
    try:
        built = build_with_script(
            directory,
            lambda partial: build_command(build, partial),
            os.environ | build.environment | build.local_environment | go_job_limits(),
            build.title,
            script=build.script,
            complete=lambda folder: is_complete(build, folder),
            finish=finish,
        )
    except BuildError as error:
        raise ToolchainError(str(error)) from None
    if built:
        progress(f"built {build.title} in {timing['seconds']:.0f} s", started)
    return directory


def build_all(started: float | None = None) -> dict[str, Path]:
    """Every part built from source, by its build's name; builds one at a time."""
    started = time.monotonic() if started is None else started
    return {build.name: ensure_built(build, started) for build in builds()}


def install_debian_packages(started: float) -> None:
    """The cluster's Debian packages, installed when missing (harness.debian)."""
    try:
        installed = install_missing(CLUSTER_DEBIAN_PACKAGES)
    except PackagesError as error:
        raise ToolchainError(str(error)) from None
    if installed:
        progress(f"installed Debian packages {' '.join(installed)}", started)
    else:
        progress(f"Debian packages present ({' '.join(CLUSTER_DEBIAN_PACKAGES)})", started)


def find_system_program(program: str) -> Path:
    search = os.pathsep.join([os.environ.get("PATH", ""), *SYSTEM_PATH])
    found = shutil.which(program, path=search)
    if found is None:
        raise ToolchainError(f"{program} is not installed; run `python -m cluster.toolchain` (Debian packages)")
    return Path(found)


@dataclass(frozen=True)
class ClusterToolchain:
    """Where every program of the local cluster is."""

    kubernetes_dir: Path
    """kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl."""
    pause: Path
    coredns: Path
    pulumi_dir: Path
    """pulumi, pulumi-language-python, pulumi-language-python-exec: the PATH of a Pulumi user."""
    kubernetes_provider: Path
    monitoring_crds_dir: Path
    """The CustomResourceDefinitions `cluster up` installs (MonitoringCrdsRelease.file_names())."""
    system: Mapping[str, Path]
    """The Debian programs (SYSTEM_PROGRAMS) by name."""
    cni_dir: Path

    def kubernetes(self, program: str) -> Path:
        return self.kubernetes_dir / program

    @property
    def kubectl(self) -> Path:
        return self.kubernetes("kubectl")

    @property
    def pulumi(self) -> Path:
        return self.pulumi_dir / "pulumi"

    def programs(self) -> dict[str, Path]:
        found = {command: self.kubernetes(command) for command in CLUSTER_KUBERNETES.commands}
        found |= {"pause": self.pause, "coredns": self.coredns}
        found |= {output: self.pulumi_dir / output for output in build_named("pulumi").outputs}
        found |= {"pulumi-resource-kubernetes": self.kubernetes_provider}
        return found | dict(self.system)

    def as_json(self) -> dict[str, object]:
        return {
            "programs": {name: str(path) for name, path in self.programs().items()},
            "directories": {
                "kubernetes": str(self.kubernetes_dir),
                "pulumi": str(self.pulumi_dir),
                "monitoring_crds": str(self.monitoring_crds_dir),
                "cni": str(self.cni_dir),
            },
            "versions": {
                "kubernetes": CLUSTER_KUBERNETES.version,
                "pause": CLUSTER_KUBERNETES.pause_version,
                "coredns": CLUSTER_COREDNS.version,
                "pulumi": CLUSTER_PULUMI.version,
                "pulumi-language-python": CLUSTER_PULUMI.language_host_version,
                "pulumi-kubernetes": CLUSTER_PULUMI_KUBERNETES.version,
                "prometheus-operator-crds": CLUSTER_MONITORING_CRDS.version,
                "controller-gen": CLUSTER_MONITORING_CRDS.controller_tools_version,
            },
        }


def assemble(directories: Mapping[str, Path]) -> ClusterToolchain:
    if not (CNI_DIR / "bridge").is_file():
        raise ToolchainError(
            f"the CNI plugins are not in {CNI_DIR}; run `python -m cluster.toolchain` (Debian packages)"
        )
    return ClusterToolchain(
        kubernetes_dir=directories["kubernetes"],
        pause=directories["pause"] / "pause",
        coredns=directories["coredns"] / "coredns",
        pulumi_dir=directories["pulumi"],
        kubernetes_provider=directories["pulumi-kubernetes"] / "pulumi-resource-kubernetes",
        monitoring_crds_dir=directories["monitoring-crds"],
        system={program: find_system_program(program) for program in SYSTEM_PROGRAMS},
        cni_dir=CNI_DIR,
    )


def toolchain() -> ClusterToolchain:
    """The built and installed toolchain, without building: a ToolchainError names what is missing."""
    directories = {}
    for build in builds():
        directory = build_directory(build)
        if not is_complete(build, directory):
            raise ToolchainError(f"{build.title} is not built yet; run `python -m cluster.toolchain`")
        directories[build.name] = directory
    return assemble(directories)


def ensure_toolchain() -> ClusterToolchain:
    """Installs the Debian packages and builds whatever is missing, one step at a time."""
    started = time.monotonic()
    install_debian_packages(started)
    found = assemble(build_all(started))
    progress("toolchain ready", started)
    return found


def main() -> int:
    try:
        found = ensure_toolchain()
    except ToolchainError as error:
        print(f"{PROGRESS}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(found.as_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
