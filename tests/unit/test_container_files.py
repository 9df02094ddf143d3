"""The files the image ships: shellcheck-clean, strict shell, one source for shared names."""

import re
import subprocess
from pathlib import Path

import pytest

from components.image import image_build_args
from pgpitr.container_env import STOP_ARCHIVE_SECONDS, STOP_GRACE_SECONDS
from pgpitr.versions import WALG_RELEASES
from pgpitr_runtime import names
from tests.requirements import require_program

ROOT = Path(__file__).resolve().parents[2]


def tracked_files() -> list[Path]:
    """Every file git tracks (with a work tree's untracked, not ignored ones), or, outside
    a checkout, every file below the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode != 0:
        skip = (".git", ".venv", ".tools", ".drill", ".cluster")
        return [p for p in ROOT.rglob("*") if p.is_file() and not p.relative_to(ROOT).parts[0].startswith(skip)]
    return [ROOT / line for line in listed.stdout.splitlines() if (ROOT / line).is_file()]


def is_shell(path: Path) -> bool:
    if path.suffix == ".sh":
        return True
    with path.open("rb") as file:
        first = file.readline(80)
    return first.startswith(b"#!") and (b"bash" in first or first.rstrip().endswith(b"/sh"))


SHELL_FILES = sorted(path for path in tracked_files() if is_shell(path))
"""Every shell file of the repository: the image's scripts, the build scripts, CI."""
LIBRARIES = frozenset({"pgpitr-lib.sh", "lib.sh"})
"""Sourced, never run: no shebang, no `set`."""


def test_there_are_scripts_to_check() -> None:
    assert {str(p.relative_to(ROOT)) for p in SHELL_FILES} >= {
        ".ci/run",
        "bench/build-seaweedfs.sh",
        "cluster/image-rootfs.sh",
        "cluster/build/lib.sh",
        "docker/build-walg.sh",
        "scripts/install-system-packages.sh",
    }
    assert {p.name for p in SHELL_FILES} >= {
        names.BACKUP_SCRIPT,
        names.RESTORE_SCRIPT,
        names.WAL_FETCH_SCRIPT,
        names.ENTRYPOINT_SCRIPT,
        names.RECONCILE_ROLES_SCRIPT,
        names.WAL_PUSH_SCRIPT,
        names.WALG_DAEMON_SCRIPT,
        names.PRE_STOP_SCRIPT,
        names.WAL_CHAIN_SCRIPT,
    }


def test_shellcheck_passes_on_every_script() -> None:
    shellcheck = require_program("shellcheck", "run `make setup` (Debian package shellcheck)")
    result = subprocess.run(
        [shellcheck, "--external-sources", *map(str, SHELL_FILES)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "path", [p for p in SHELL_FILES if p.name not in LIBRARIES], ids=lambda p: str(p.relative_to(ROOT))
)
def test_scripts_are_strict(path: Path) -> None:
    assert "set -euo pipefail" in path.read_text()


def test_executable_scripts_are_executable() -> None:
    for path in SHELL_FILES:
        if path.name not in LIBRARIES:
            assert path.stat().st_mode & 0o111, f"{path} is not executable"


def test_wal_fetch_wrapper_uses_the_shared_exit_codes() -> None:
    text = (ROOT / "docker" / "bin" / names.WAL_FETCH_SCRIPT).read_text()
    assert f"\n{names.WAL_FETCH_NOT_FOUND_EXIT}) exit 1 ;;" in text
    assert f"exit {names.WAL_FETCH_ABORT_EXIT}" in text
    assert names.WAL_FETCH_ABORT_EXIT > 125


def test_scripts_read_only_known_pgpitr_variables() -> None:
    known = {value for key, value in vars(names).items() if key.startswith("PGPITR_")}
    for path in SHELL_FILES:
        used = set(re.findall(r"\b(PGPITR_[A-Z_]+)\b", path.read_text()))
        assert used <= known, f"{path.name} uses {sorted(used - known)}, not in pgpitr_runtime/names.py"


def test_dockerfile_args_come_from_the_program() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    declared = set(re.findall(r"^ARG (\w+)", dockerfile, re.MULTILINE))
    assert declared == set(image_build_args(16, WALG_RELEASES["v3.0.9"]))
    assert not re.search(r"ARG \w+=", dockerfile), "no defaults: every value comes from pgpitr/versions.py"


def test_dockerfile_installs_to_the_shared_paths() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert f"COPY docker/bin/ {names.IMAGE_BIN_DIR}/" in dockerfile
    assert f"USER {names.POSTGRES_UID}:{names.POSTGRES_UID}" in dockerfile
    assert f'ENTRYPOINT ["{names.IMAGE_BIN_DIR}/{names.ENTRYPOINT_SCRIPT}"]' in dockerfile


def lib_default(variable: str) -> int:
    """A time limit's default in docker/bin/pgpitr-lib.sh (`: "${NAME:=N}"`)."""
    text = (ROOT / "docker" / "bin" / "pgpitr-lib.sh").read_text()
    found = re.search(rf': "\$\{{{variable}:=(\d+)\}}"', text)
    assert found, f"{variable} has no default in pgpitr-lib.sh"
    return int(found.group(1))


def test_a_stop_ends_before_the_grace_period() -> None:
    """A wal-push begun just before the stop runs to its own limit (and 10 s more before
    SIGKILL); every later one ends by pgpitr-pre-stop's deadline. Both end before the pod
    is killed, with time left for the shutdown checkpoint's end."""
    segment_limit = lib_default(names.PGPITR_WALG_SEGMENT_TIMEOUT) + 10
    assert max(segment_limit, STOP_ARCHIVE_SECONDS) + 15 <= STOP_GRACE_SECONDS
