"""Finds or builds the programs the drill runs: PostgreSQL's binaries and WAL-G.

WAL-G is built once per pinned release with docker/build-walg.sh, the same script the
image's builder stage runs, and cached under .tools/ so the next build is instant.
`python -m drill.toolchain` builds it and prints where it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pgpitr.versions import DEFAULT_WALG_VERSION, WALG_RELEASES, WalgRelease
from pgpitr_runtime import names

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
TOOLS_DIR = Path(os.environ.get(names.PGPITR_TOOLS_DIR, REPOSITORY_ROOT / ".tools"))
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


def walg_binary_path(release: WalgRelease) -> Path:
    return TOOLS_DIR / "wal-g" / release.tag / "wal-g"


def walg_unavailable_reason(release: WalgRelease) -> str | None:
    marker = walg_binary_path(release).with_name("unavailable.txt")
    return marker.read_text().strip() if marker.exists() else None


def build_walg(release: WalgRelease) -> Path:
    """Builds WAL-G at the pinned commit unless the cached binary is there."""
    binary = walg_binary_path(release)
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise ToolchainError("the Go toolchain is needed to build WAL-G; install Go 1.26 or newer")
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "WALG_GO_VERSION": release.go_version,
        "WALG_COMMIT": release.commit,
        "WALG_BUILD_TAGS": ",".join(release.build_tags),
    }
    result = subprocess.run(["bash", str(BUILD_SCRIPT), str(binary)], env=env, capture_output=True, text=True)
    marker = binary.with_name("unavailable.txt")
    if result.returncode != 0:
        meaningful = [line.strip() for line in result.stderr.splitlines() if line.strip().strip("{}")]
        errors = [line for line in meaningful if '"Error"' in line]
        reason = (errors or meaningful or ["no output"])[-1].removeprefix('"Error": ').strip('",')
        if "403 Forbidden" in result.stderr or "not available" in result.stderr:
            reason = (
                f"the Go module proxy refuses github.com/wal-g/wal-g@{release.go_version}"
                f" (WAL-G {release.tag}, 403 Forbidden)"
            )
        marker.write_text(reason + "\n")
        raise ToolchainError(f"building WAL-G {release.tag} failed: {reason}")
    marker.unlink(missing_ok=True)
    return binary


def toolchain(release: WalgRelease | None = None) -> Toolchain:
    """The programs the drill needs, or a ToolchainError naming what is missing.

    PGPITR_WALG_BINARY points at another WAL-G build (say, a distribution's package)
    instead of the pinned one; results obtained that way prove less, and say so.
    """
    override = os.environ.get("PGPITR_WALG_BINARY")
    if override:
        if not Path(override).is_file():
            raise ToolchainError(f"PGPITR_WALG_BINARY={override} is not a file")
        return Toolchain(pg_bindir=find_pg_bindir(), walg=Path(override))
    release = release or WALG_RELEASES[DEFAULT_WALG_VERSION]
    binary = walg_binary_path(release)
    if not binary.exists():
        reason = walg_unavailable_reason(release) or "not built yet"
        raise ToolchainError(f"WAL-G {release.tag} is not available ({reason}); run `make setup`")
    return Toolchain(pg_bindir=find_pg_bindir(), walg=binary)


def main() -> int:
    release = WALG_RELEASES[DEFAULT_WALG_VERSION]
    try:
        binary = build_walg(release)
        bindir = find_pg_bindir()
    except ToolchainError as error:
        print(f"drill.toolchain: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"walg": str(binary), "walg_version": release.tag, "pg_bindir": str(bindir)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
