"""The machine's mounts, from /proc/mounts: what is mounted at or below a folder, and
unmounting it (a root file system being built, a cluster's volumes)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

MOUNTS = Path("/proc/mounts")
_ESCAPE = re.compile(r"\\([0-7]{3})")


def unescape_mount_path(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes (\\040...)."""
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def mount_table() -> list[tuple[str, str]]:
    """Each mount as (mount point, file system type), in /proc/mounts' order."""
    rows = (line.split() for line in MOUNTS.read_text().splitlines())
    return [(unescape_mount_path(fields[1]), fields[2]) for fields in rows if len(fields) >= 3]


def mount_points() -> list[str]:
    return [point for point, _ in mount_table()]


def mounts_under(roots: Iterable[Path | str]) -> list[str]:
    """Mount points at or below any of `roots`, deepest first (the order to unmount)."""
    prefixes = [str(Path(root).resolve()) for root in roots]
    found = {
        point
        for point in mount_points()
        if any(point == prefix or point.startswith(prefix + "/") for prefix in prefixes)
    }
    return sorted(found, key=lambda point: (point.count("/"), point), reverse=True)


def unmount_under(roots: Iterable[Path | str]) -> list[str]:
    """Unmounts everything at or below `roots` (a point mounted twice, twice); a mount
    that stays busy is detached. Returns what is still mounted (nothing, normally)."""
    roots = list(roots)
    for _ in range(10):
        points = mounts_under(roots)
        if not points:
            return []
        for point in points:
            result = subprocess.run(["umount", point], capture_output=True, text=True)
            if result.returncode != 0 and point in mount_points():
                subprocess.run(["umount", "--lazy", point], capture_output=True, text=True)
    return mounts_under(roots)
