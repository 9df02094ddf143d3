"""Commands inside a root file system being built: the mounts a chroot needs (always
undone, also when a step fails), the devices a container runtime provides, and logged runs."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from cluster.image_contents import ImageError
from harness import mounts


def unmount_below(root: Path) -> None:
    """Unmounts everything at or under `root`, deepest first; fails if anything stays."""
    left = mounts.unmount_under([root])
    if left:
        raise ImageError(f"could not unmount {', '.join(left)}; unmount them by hand")


def remove_tree(path: Path) -> None:
    """Removes a root file system being built, after making sure nothing is mounted in it."""
    if path.exists():
        unmount_below(path)
        shutil.rmtree(path)


DEVICES: Final = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0))
"""The character devices a container runtime gives every container."""


@contextlib.contextmanager
def chroot_mounts(root: Path, devices: bool = False) -> Iterator[None]:
    """/proc mounted in `root` while the block runs, and with `devices` a fresh /dev (a
    tmpfs with the usual devices and /dev/shm, as a container gets) instead of the root
    file system's own. Everything is unmounted afterwards, whatever happens."""
    try:
        _mount(["-t", "proc", "proc"], root / "proc")
        if devices:
            dev = root / "dev"
            _mount(["-t", "tmpfs", "-o", "mode=0755,nosuid", "tmpfs"], dev)
            for name, major, minor in DEVICES:
                os.mknod(dev / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
                (dev / name).chmod(0o666)
            (dev / "shm").mkdir()
            _mount(["-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "shm"], dev / "shm")
        yield
    finally:
        unmount_below(root)


def _mount(arguments: Sequence[str], point: Path) -> None:
    point.mkdir(exist_ok=True)
    result = subprocess.run(["mount", *arguments, str(point)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageError(f"mount {' '.join(arguments)} {point} failed: {result.stderr.strip()}")


def chroot_argv(root: Path, argv: Sequence[str], env: Mapping[str, str], user: str | None = None) -> list[str]:
    """`argv` run in `root` with exactly `env` (nothing of this process's environment),
    as `user` ("uid:gid") when given."""
    userspec = [f"--userspec={user}"] if user else []
    return ["chroot", *userspec, str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]


def run_logged(argv: Sequence[str], log: Path, what: str, env: Mapping[str, str] | None = None) -> None:
    """Runs `argv` with its output in `log`; a failure names `what` and the log's last line."""
    with log.open("a") as log_file:
        log_file.write(f"$ {' '.join(argv)}\n")
        log_file.flush()
        returncode = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env
        ).returncode
    if returncode != 0:
        lines = [line.strip() for line in log.read_text().splitlines() if line.strip()]
        raise ImageError(f"{what} failed: {(lines or ['no output'])[-1]} (full log: {log})")
