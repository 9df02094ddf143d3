"""Bad drill input ends with one line naming the flag, exit status 2, before anything
is started (so these run on any machine)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BAD = [
    (["restore", "--time", "2026-02-09 12:00:00"], "--time", "no timezone offset"),
    (["restore", "--time", "yesterday"], "--time", "RFC 3339"),
    (["restore", "--lsn", "16-B374D848"], "--lsn", "LSN"),
    (["restore", "--xid", "-3"], "--xid", "transaction id"),
    (["restore", "--latest", "--action", "pause"], "--action", "must be promote"),
    (["restore", "--name", "x", "--action", "explode"], "--action", "unknown recovery action"),
    (["restore", "--latest", "--backup", "newest"], "--backup", "not a backup"),
    (["restore", "--latest", "--xid", "5"], "not allowed with argument", ""),
    (["restore"], "one of the arguments", ""),
    (["restore", "--timestamp", "2026-02-09T12:00:00Z"], "one of the arguments --time --xid", "--immediate"),
    (["restore", "--latest", "--timestamp", "x"], "unrecognized arguments", "--timestamp"),
    (["rewind"], "invalid choice", ""),
]


@pytest.mark.parametrize(("argv", "names", "words"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_input_is_one_line(argv: list[str], names: str, words: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "drill", "--dir", str(tmp_path / "none"), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("drill: ") and names in lines[0] and words in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "none").exists()


def test_status_of_nothing_is_json(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "drill", "status", "--dir", str(tmp_path / "none")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert '"running": false' in result.stdout
