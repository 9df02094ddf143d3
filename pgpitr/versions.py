"""Pinned versions: the single source for the image build, the local drill and CI."""

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class WalgRelease:
    """A WAL-G release and how pgpitr builds it (docker/build-walg.sh).

    The Go module proxy refuses github.com/wal-g/wal-g, so WAL-G is built from a source
    tree: the checked tarball in ../shared/third_party/wal-g/ where it exists (this
    project's machines), otherwise a clone of the upstream tag with its commit checked
    (the image's builder stage). Both build the same commit with the same flags.
    """

    tag: str
    commit: str
    source_tarball: str
    """File name of the source tarball (folder `wal-g-<version>/` inside)."""
    source_sha256: str
    repository: str = "https://github.com/wal-g/wal-g"
    package_dir: str = "main/pg"
    build_tags: tuple[str, ...] = ("brotli", "libsodium", "lzo")
    """cgo features beyond the default build: brotli compression, libsodium encryption,
    lzo decompression; Debian libbrotli-dev, libsodium-dev, liblzo2-dev."""
    goexperiment: str = "jsonv2"
    """v3.0.9 uses encoding/json/v2 and does not compile without it."""
    build_packages: tuple[str, ...] = ("libbrotli-dev", "libsodium-dev", "liblzo2-dev")
    """Debian packages the build tags need (scripts/install-system-packages.sh has them too)."""
    runtime_packages: tuple[str, ...] = ("libbrotli1", "libsodium23", "liblzo2-2")
    """The shared libraries the built binary loads, installed in the image."""

    def build_environment(self) -> dict[str, str]:
        """The input of docker/build-walg.sh (and the image's build args), one place."""
        return {
            "WALG_TAG": self.tag,
            "WALG_COMMIT": self.commit,
            "WALG_BUILD_TAGS": ",".join(self.build_tags),
            "WALG_GOEXPERIMENT": self.goexperiment,
            "WALG_REPOSITORY": self.repository,
        }


WALG_RELEASES: Final[dict[str, WalgRelease]] = {
    "v3.0.9": WalgRelease(
        tag="v3.0.9",
        commit="3e493188db28335fb93a45bd680c6ff8fc3028c1",
        source_tarball="wal-g-3.0.9.tar.xz",
        source_sha256="0d8e6e40e5298cebe0bb8125f03052eacf7514b61ca8dd2307fdc1c279401cb6",
    ),
}
DEFAULT_WALG_VERSION: Final = "v3.0.9"


def image_tag(postgres_version: int, walg: WalgRelease) -> str:
    """The tag of pgpitr's image: PostgreSQL's major and WAL-G's release."""
    return f"pg{postgres_version}-walg-{walg.tag}"


SUPPORTED_POSTGRES_VERSIONS: Final = (15, 16, 17)
DEFAULT_POSTGRES_VERSION: Final = 16

GO_BUILDER_IMAGE: Final = "golang:1.26-bookworm"
"""Builder stage of the image; the Debian release matches the postgres base image."""
POSTGRES_IMAGE_SUFFIX: Final = "bookworm"

KUBERNETES_VERSION: Final = "1.35.0"
"""Kubernetes version whose schemas the rendered manifests are validated against."""

POSTGRES_EXPORTER_IMAGE: Final = "quay.io/prometheuscommunity/postgres-exporter:v0.20.1"
"""The exporter sidecar. Its --extend.query-path is deprecated upstream but still read;
the Debian package (0.11) the tests scrape produces the same metric names."""


# The local cluster (cluster/): Kubernetes, CoreDNS, the pause image, the Pulumi CLI and
# the Kubernetes provider, built from source by cluster/build/*.sh and cached under
# .tools/<name>/<version>-<digest of the build inputs>/ (cluster/toolchain.py).


@dataclass(frozen=True)
class KubernetesRelease:
    """Kubernetes' programs, built in one `go build` from the Go module k8s.io/kubernetes
    (cluster/build/build-kubernetes.sh), and the pause program from the same module."""

    version: str
    staging_version: str
    """The version the staging modules (k8s.io/api, k8s.io/client-go, ...) are published at."""
    commands: tuple[str, ...]
    """Folders under cmd/ built into the programs of the same name."""
    pause_version: str
    """The pause image's version, `TAG` in build/pause/Makefile of that module (checked)."""

    def build_environment(self) -> dict[str, str]:
        return {
            "KUBERNETES_VERSION": self.version,
            "KUBERNETES_STAGING_VERSION": self.staging_version,
            "KUBERNETES_COMMANDS": " ".join(self.commands),
        }

    def pause_build_environment(self) -> dict[str, str]:
        return {"KUBERNETES_VERSION": self.version, "PAUSE_VERSION": self.pause_version}


@dataclass(frozen=True)
class CorednsRelease:
    """CoreDNS, `go install`ed at its tag (cluster/build/build-coredns.sh)."""

    version: str
    module: str = "github.com/coredns/coredns"

    def build_environment(self) -> dict[str, str]:
        return {"COREDNS_MODULE": f"{self.module}@{self.version}"}


@dataclass(frozen=True)
class PulumiRelease:
    """The Pulumi CLI and its Python language host (cluster/build/build-pulumi.sh).

    The CLI is built from github.com/pulumi/pulumi/pkg/v3 in a wrapper module, because
    pkg's go.mod has replace directives; the proxy refuses the language host's module at
    every version, so its source comes from a checked tarball in ../shared/third_party/pulumi/
    and builds as a package of the same wrapper module.
    """

    version: str
    replacements: tuple[str, ...]
    """pkg/v3's own non-local replace directives (`old=new@version`), repeated in the wrapper (checked)."""
    language_host_version: str
    language_host_commit: str
    """The upstream commit of the language host's source (tag v<language_host_version>)."""
    language_host_tarball: str
    """File name of the language host's source (folder `pulumi-language-python-<version>/` inside)."""
    language_host_sha256: str

    def build_environment(self) -> dict[str, str]:
        return {
            "PULUMI_VERSION": self.version,
            "PULUMI_REPLACEMENTS": " ".join(self.replacements),
            "PULUMI_LANGUAGE_HOST_VERSION": self.language_host_version,
            "PULUMI_LANGUAGE_HOST_SHA256": self.language_host_sha256,
        }


@dataclass(frozen=True)
class PulumiKubernetesRelease:
    """The Kubernetes provider plugin (cluster/build/build-pulumi-kubernetes.sh).

    The proxy serves its provider module only at a pseudo-version, which is exactly the
    release tag's commit; the provider's go.mod replaces its SDK by the repository's
    folder, so the wrapper requires the SDK at the same tag instead.
    """

    version: str
    provider_module: str
    provider_module_version: str
    commit: str
    sdk_module: str
    sdk_module_version: str

    def build_environment(self) -> dict[str, str]:
        return {
            "PULUMI_KUBERNETES_VERSION": self.version,
            "PULUMI_KUBERNETES_PROVIDER": f"{self.provider_module}@{self.provider_module_version}",
            "PULUMI_KUBERNETES_SDK": f"{self.sdk_module}@{self.sdk_module_version}",
        }


@dataclass(frozen=True)
class MonitoringCrdsRelease:
    """The PodMonitor and PrometheusRule CustomResourceDefinitions of the Prometheus
    Operator, generated by controller-gen from the operator's API types
    (cluster/build/build-monitoring-crds.sh): the operator's own module is refused by the
    Go module proxy, its `pkg/apis/monitoring` module and controller-tools are served."""

    version: str
    """The Prometheus Operator release of the API types."""
    controller_tools_version: str
    apis_module: str = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring"
    controller_gen_module: str = "sigs.k8s.io/controller-tools/cmd/controller-gen"
    resources: tuple[str, ...] = ("podmonitors", "prometheusrules")
    """The CRDs pgpitr's stack uses (components/monitoring.py), of API group GROUP."""
    group: str = "monitoring.coreos.com"

    def file_names(self) -> tuple[str, ...]:
        """controller-gen's names: <group>_<plural>.yaml."""
        return tuple(f"{self.group}_{resource}.yaml" for resource in self.resources)

    def build_environment(self) -> dict[str, str]:
        return {
            "MONITORING_APIS_MODULE": f"{self.apis_module}@{self.version}",
            "CONTROLLER_GEN_MODULE": f"{self.controller_gen_module}@{self.controller_tools_version}",
            "MONITORING_CRD_FILES": " ".join(self.file_names()),
        }


CLUSTER_KUBERNETES: Final = KubernetesRelease(
    version="v1.35.4",
    staging_version="v0.35.4",
    commands=("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl"),
    pause_version="3.10.1",
)
CLUSTER_COREDNS: Final = CorednsRelease(version="v1.12.1")
"""The release checked on this project's machines (../shared/CLUSTER.md)."""
CLUSTER_PULUMI: Final = PulumiRelease(
    version="v3.274.1",
    replacements=("github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e",),
    language_host_version="3.259.0",
    language_host_commit="0ac56e876614aedf12771d73ef7e80959b8a6fd4",
    language_host_tarball="pulumi-language-python-3.259.0.tar.xz",
    language_host_sha256="92f6b9da2bfbeacca4f5bf2a9d142dfec8f37b8b829bdda5ff57f1725a7a86ee",
)
CLUSTER_PULUMI_KUBERNETES: Final = PulumiKubernetesRelease(
    version="4.25.0",
    provider_module="github.com/pulumi/pulumi-kubernetes/provider/v4",
    provider_module_version="v4.0.0-20260115033456-f47bc2d6f199",
    commit="f47bc2d6f1996444d11c12b4ef083b82585f7c07",
    sdk_module="github.com/pulumi/pulumi-kubernetes/sdk/v4",
    sdk_module_version="v4.25.0",
)
CLUSTER_MONITORING_CRDS: Final = MonitoringCrdsRelease(version="v0.95.2", controller_tools_version="v0.23.0")
CLUSTER_DEBIAN_PACKAGES: Final = (
    "etcd-server",
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "debootstrap",
    "gcc",
    "libc6-dev",
)
"""What the local cluster takes from Debian (etcd, the container runtime, CNI plugins,
iptables, the image's root file system) and what builds the pause program."""


# The benchmark's S3 server (bench/): SeaweedFS, built from source by
# bench/build-seaweedfs.sh and cached under .tools/seaweedfs/<version>-<digest>/
# (bench/seaweedfs.py).


@dataclass(frozen=True)
class SeaweedfsRelease:
    """SeaweedFS (Apache-2.0), whose `weed` program is the benchmark's S3 server.

    The Go module proxy serves github.com/seaweedfs/seaweedfs only at a pseudo-version,
    whose last part is the upstream commit. Its go.mod has a replace directive, which
    `go install module@version` refuses, so bench/build-seaweedfs.sh builds weed inside
    the module's own source, with upstream's go.mod and go.sum.
    """

    version: str
    """The module's pseudo-version."""
    release: str
    """The release number that version's `weed version` reports (checked by the build)."""
    module: str = "github.com/seaweedfs/seaweedfs"

    @property
    def commit(self) -> str:
        """The upstream commit, abbreviated as in the pseudo-version."""
        return self.version.rsplit("-", 1)[-1]

    def build_environment(self) -> dict[str, str]:
        """The input of bench/build-seaweedfs.sh."""
        return {"SEAWEEDFS_MODULE": f"{self.module}@{self.version}", "SEAWEEDFS_RELEASE": self.release}


BENCH_SEAWEEDFS: Final = SeaweedfsRelease(version="v0.0.0-20261109003541-7506e5f91cd6", release="4.53")
