"""The harness's shared pieces: Debian packages, the build cache, the last line of output."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import build_cache, debian
from harness.text import last_line


def test_missing_packages_keeps_the_order_and_leaves_out_installed_ones() -> None:
    assert debian.missing_packages(["pgpitr-no-such-package", "coreutils", "pgpitr-none-either"]) == [
        "pgpitr-no-such-package",
        "pgpitr-none-either",
    ]


def test_only_missing_packages_reach_the_installer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "install.sh"
    record = tmp_path / "args"
    script.write_text(f'printf "%s\\n" "$@" > {record}\n')
    monkeypatch.setattr(debian, "INSTALL_SCRIPT", script)
    assert debian.install_missing(["coreutils"]) == []
    assert not record.exists(), "nothing missing: the installer does not run"
    assert debian.install_missing(["coreutils", "pgpitr-no-such-package"]) == ["pgpitr-no-such-package"]
    assert record.read_text().split() == ["pgpitr-no-such-package"]
    script.write_text("echo 'E: Unable to locate package' >&2; exit 100\n")
    with pytest.raises(debian.PackagesError, match="installing pgpitr-no-such-package failed: E: Unable to locate"):
        debian.install_missing(["pgpitr-no-such-package"])


def test_a_cache_entry_appears_only_complete(tmp_path: Path) -> None:
    entry = tmp_path / "tool" / "v1-abc"

    def complete(folder: Path) -> bool:
        return (folder / "bin").is_file()

    def fails(partial: Path) -> None:
        (partial / "half").write_text("x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_cache.ensure_folder(entry, fails, complete)
    assert not entry.exists() and not entry.with_name("v1-abc.partial").exists()

    def incomplete(partial: Path) -> None:
        (partial / "build.log").write_text("it went wrong")

    with pytest.raises(build_cache.BuildError, match="left its result incomplete"):
        build_cache.ensure_folder(entry, incomplete, complete)
    assert not entry.exists() and (entry.with_name("v1-abc.partial") / "build.log").is_file(), "the log is kept"

    calls = []

    def builds(partial: Path) -> None:
        calls.append(partial)
        (partial / "bin").write_text("ok")

    assert build_cache.ensure_folder(entry, builds, complete) is True
    assert build_cache.ensure_folder(entry, builds, complete) is False, "cached: not built again"
    assert len(calls) == 1 and (entry / "bin").read_text() == "ok"
    assert not entry.with_name("v1-abc.partial").exists()


def test_a_failed_build_script_is_one_line_with_its_log(tmp_path: Path) -> None:
    script = tmp_path / "build.sh"
    script.write_text("echo 'go: downloading x'\necho 'build.sh: the proxy refused x' >&2\nexit 1\n")
    log = tmp_path / "out" / "build.log"
    with pytest.raises(build_cache.BuildError) as failure:
        build_cache.run_build_script(
            ["bash", str(script)], {"PATH": "/usr/bin:/bin"}, log, "x 1.0", prefix="build.sh: "
        )
    assert str(failure.value) == f"building x 1.0 failed: the proxy refused x (full log: {log})"
    assert "go: downloading x" in log.read_text()


def test_the_last_line() -> None:
    assert last_line("a\nb\n\n") == "b"
    assert last_line("  ") == "no output"
