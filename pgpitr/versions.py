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
