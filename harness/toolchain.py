"""Finds or builds the programs the rig runs: PostgreSQL's binaries and WAL-G.

WAL-G is built once per pinned release with docker/build-walg.sh, the same script the
image's builder stage runs, from the same inputs (pgpitr.versions.WalgRelease), with
its daemon client (walg-daemon-client) beside it, and cached under
.tools/wal-g/<tag>-<digest of the build inputs>/ so the next run is instant.
`python -m harness.toolchain` builds it and prints where it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.build_cache import BuildError, build_with_script, inputs_digest
from harness.paths import REPOSITORY_ROOT, TOOLS_DIR
from pgpitr.versions import DEFAULT_WALG_VERSION, WALG_RELEASES, WalgRelease
from pgpitr_runtime import names

BUILD_SCRIPT = REPOSITORY_ROOT / "docker" / "build-walg.sh"


class ToolchainError(RuntimeError):
    """A program the drill needs is missing; the message says how to get it."""


@dataclass(frozen=True)
class Toolchain:
    pg_bindir: Path
    walg: Path

    def pg(self, program: str) -> str:
        return str(self.pg_bindir / program)

    @property
    def pg_major(self) -> int:
        out = subprocess.run([self.pg("postgres"), "--version"], capture_output=True, text=True, check=True)
        return int(out.stdout.split()[-1].split(".")[0])


def find_pg_bindir() -> Path:
    """PG_BINDIR, else the newest /usr/lib/postgresql/N/bin (Debian's layout)."""
    if os.environ.get("PG_BINDIR"):
        candidates = [Path(os.environ["PG_BINDIR"])]
    else:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[::-1]
    for candidate in candidates:
        if (candidate / "postgres").exists() and (candidate / "initdb").exists():
            return candidate
    raise ToolchainError("PostgreSQL server binaries not found; run `make setup` (Debian package postgresql-15)")


SHARED_SOURCES_DIR = REPOSITORY_ROOT.parent / "shared" / "third_party" / "wal-g"
"""Where this project's machines keep WAL-G's source tarball (../shared beside the clone)."""
BUILD_INPUTS = (BUILD_SCRIPT, *sorted((REPOSITORY_ROOT / "docker" / "walg-yckms-stub").rglob("*")))


def build_key(release: WalgRelease) -> str:
    """The release tag and a digest of everything that shapes the binary: the build
    environment and the files of the build, so a changed flag never reuses a stale build."""
    return f"{release.tag}-{inputs_digest(release.build_environment(), BUILD_INPUTS)}"


def walg_binary_path(release: WalgRelease) -> Path:
    return TOOLS_DIR / "wal-g" / build_key(release) / "wal-g"


def source_environment(release: WalgRelease) -> dict[str, str]:
    """The checked tarball when it is here; otherwise build-walg.sh clones the tag."""
    tarball = SHARED_SOURCES_DIR / release.source_tarball
    if not tarball.is_file():
        return {}
    return {"WALG_SOURCE_TARBALL": str(tarball), "WALG_SOURCE_SHA256": release.source_sha256}


def daemon_client_path(walg_binary: Path) -> Path:
    """The daemon client the build puts beside wal-g (restore_command calls it)."""
    return walg_binary.parent / names.WALG_DAEMON_CLIENT


def build_walg(release: WalgRelease) -> Path:
    """Builds WAL-G at the pinned commit unless the cache has it (harness.build_cache)."""
    binary = walg_binary_path(release)
    if walg_complete(binary.parent):
        return binary
    if shutil.which("go") is None:
        raise ToolchainError("the Go toolchain is needed to build WAL-G; install Go 1.25 or newer")
    env = os.environ | release.build_environment() | source_environment(release)
    print(f"harness.toolchain: building WAL-G {release.tag} ({build_key(release)})", file=sys.stderr, flush=True)

    try:
        build_with_script(
            binary.parent,
            lambda partial: ["bash", str(BUILD_SCRIPT), str(partial / binary.name)],
            env,
            f"WAL-G {release.tag}",
            script=BUILD_SCRIPT.name,
            complete=walg_complete,
        )
    except BuildError as error:
        raise ToolchainError(str(error)) from None
    return binary


def walg_complete(folder: Path) -> bool:
    """A WAL-G build: wal-g and its daemon client beside it."""
    return (folder / "wal-g").is_file() and daemon_client_path(folder / "wal-g").is_file()


def toolchain(release: WalgRelease | None = None) -> Toolchain:
    """The programs the drill needs, or a ToolchainError naming what is missing.

    PGPITR_WALG_BINARY points at another WAL-G build (say, a distribution's package)
    instead of the pinned one; results obtained that way prove less, and say so.
    """
    override = os.environ.get("PGPITR_WALG_BINARY")
    if override:
        if not Path(override).is_file():
            raise ToolchainError(f"PGPITR_WALG_BINARY={override} is not a file")
        if not daemon_client_path(Path(override)).is_file():
            raise ToolchainError(
                f"PGPITR_WALG_BINARY={override} has no {names.WALG_DAEMON_CLIENT} beside it;"
                " restore_command needs WAL-G's daemon client (cmd/daemonclient) there"
            )
        return Toolchain(pg_bindir=find_pg_bindir(), walg=Path(override))
    release = release or WALG_RELEASES[DEFAULT_WALG_VERSION]
    binary = walg_binary_path(release)
    if not binary.exists() or not daemon_client_path(binary).exists():
        raise ToolchainError(f"WAL-G {release.tag} is not built yet; run `make setup`")
    return Toolchain(pg_bindir=find_pg_bindir(), walg=binary)


def main() -> int:
    release = WALG_RELEASES[DEFAULT_WALG_VERSION]
    try:
        binary = build_walg(release)
        bindir = find_pg_bindir()
    except ToolchainError as error:
        print(f"harness.toolchain: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"walg": str(binary), "walg_version": release.tag, "pg_bindir": str(bindir)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
