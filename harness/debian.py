"""Debian packages the rig needs: which are missing, and installing them through
scripts/install-system-packages.sh (as root, or through sudo; `apt-get update` first)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from harness.paths import REPOSITORY_ROOT
from harness.text import last_line

INSTALL_SCRIPT = REPOSITORY_ROOT / "scripts" / "install-system-packages.sh"


class PackagesError(RuntimeError):
    """Packages could not be checked or installed; the message says which and why."""


def missing_packages(packages: Sequence[str]) -> list[str]:
    """Those of `packages` dpkg does not list as installed, in their order."""
    try:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package} ${Status}\\n", *packages], capture_output=True, text=True
        )
    except OSError as error:
        raise PackagesError(f"cannot ask dpkg about {' '.join(packages)}: {error}") from None
    installed = {line.split()[0] for line in result.stdout.splitlines() if line.endswith(" install ok installed")}
    return [package for package in packages if package not in installed]


def install_missing(packages: Sequence[str]) -> list[str]:
    """Installs those of `packages` that are missing; returns them (empty: nothing to do)."""
    missing = missing_packages(packages)
    if not missing:
        return []
    result = subprocess.run(["bash", str(INSTALL_SCRIPT), *missing], capture_output=True, text=True)
    if result.returncode != 0:
        raise PackagesError(f"installing {' '.join(missing)} failed: {last_line(result.stderr + result.stdout)}")
    return missing
