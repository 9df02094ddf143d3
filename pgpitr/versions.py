"""Pinned versions: the single source for the image build, the local drill and CI."""

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class WalgRelease:
    """A WAL-G release and how Go names it.

    WAL-G tags v3.x without a /v3 module path, so the Go module proxy cannot serve a
    tag; the release commit is reachable only as a pseudo-version.
    """

    tag: str
    commit: str
    go_version: str
    """The version `go install` takes: the commit's pseudo-version."""

    module: str = "github.com/wal-g/wal-g"
    package: str = "github.com/wal-g/wal-g/main/pg"
    build_tags: tuple[str, ...] = ("brotli", "libsodium")
    """cgo features beyond the default build: brotli compression, libsodium encryption."""

    @property
    def install_spec(self) -> str:
        return f"{self.package}@{self.go_version}"


WALG_RELEASES: Final[dict[str, WalgRelease]] = {
    "v3.0.9": WalgRelease(
        tag="v3.0.9",
        commit="3e493188db28335fb93a45bd680c6ff8fc3028c1",
        go_version="v0.2.23-0.20260820091616-3e493188db28",
    ),
}
DEFAULT_WALG_VERSION: Final = "v3.0.9"

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
