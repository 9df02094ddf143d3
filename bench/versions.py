"""Pinned versions of what the benchmarks build (bench/build-seaweedfs.sh); the product's
own pins are in pgpitr/versions.py."""

from dataclasses import dataclass
from typing import Final

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
