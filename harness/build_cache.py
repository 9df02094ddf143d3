"""One build cache for everything the rig builds: WAL-G, the local cluster's parts, the
benchmark's SeaweedFS, the local image's stages and images made of files.

An entry is a folder named by a version and a digest of everything that shapes the
result (pgpitr's own inputs, the build script, the compilers), so a changed input never
reuses a stale build. It is made in a `.partial` folder beside it, under a lock, and
renamed into place only once complete: a build cut short is redone, never taken for a
result, and two processes (a test and a user's setup) never build it at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from harness.paths import REPOSITORY_ROOT
from harness.text import last_line


class BuildError(RuntimeError):
    """A build failed or left its result incomplete; the message says which and why."""


def inputs_digest(environment: Mapping[str, object], files: Iterable[Path], root: Path = REPOSITORY_ROOT) -> str:
    """A short digest of a build's inputs and files (named by their path under `root`)."""
    digest = hashlib.sha256(json.dumps(dict(environment), sort_keys=True).encode())
    for path in files:
        if path.is_file():
            name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
            digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def exclusive(lock_file: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Holds `lock_file`'s lock, also across processes; `waiting` is called first when
    another process holds it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_folder(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def ensure_folder(
    folder: Path,
    make: Callable[[Path], None],
    complete: Callable[[Path], bool],
    *,
    remove: Callable[[Path], None] = remove_folder,
    waiting: Callable[[], None] | None = None,
    create: bool = True,
) -> bool:
    """`folder`, made by `make(partial)` unless `complete(folder)` already holds; True
    when it was built now. `remove` clears a partial folder (a root file system being
    built needs its mounts undone first); `create` False leaves making the partial
    folder itself to `make` (`cp -a` into a folder that exists copies inside it)."""
    if complete(folder):
        return False
    with exclusive(folder.parent / ".lock", waiting):
        if complete(folder):  # another process built it meanwhile
            return False
        partial = folder.with_name(f"{folder.name}.partial")
        remove(partial)
        if create:
            partial.mkdir(parents=True)
        try:
            make(partial)
        except BuildError:
            raise  # the partial folder keeps the build's log
        except BaseException:
            remove(partial)
            raise
        if not complete(partial):
            raise BuildError(f"the build of {folder.name} left its result incomplete in {partial}")
        remove(folder)
        partial.rename(folder)
    return True


def run_build_script(
    argv: Sequence[str],
    env: Mapping[str, str],
    log_path: Path,
    title: str,
    *,
    prefix: str,
    shown_as: tuple[str, str] | None = None,
) -> None:
    """Runs a build script: its own progress lines (starting with `prefix`) reach the
    user, everything else (Go's download chatter) only `log_path`; `shown_as` rewrites a
    partial folder's path into the final one in what the user sees. A failure is a
    BuildError with the script's own error, or the build's last word."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            list(argv), env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if line.startswith(prefix):
                shown = line.replace(*shown_as) if shown_as else line
                print(shown, end="", file=sys.stderr, flush=True)
        returncode = process.wait()
    if returncode != 0:
        reason = last_line(log_path.read_text()).removeprefix(prefix).strip()
        raise BuildError(f"building {title} failed: {reason} (full log: {log_path})")


def build_with_script(
    folder: Path,
    argv: Callable[[Path], Sequence[str]],
    env: Mapping[str, str],
    title: str,
    *,
    script: str,
    complete: Callable[[Path], bool],
    finish: Callable[[Path], None] | None = None,
) -> bool:
    """`folder` built by a build script (`argv(partial)`, its progress lines starting with
    `script:`) unless `complete(folder)` holds; True when it was built now. `finish(partial)`
    checks or adds to the result before it takes the folder's name."""

    def make(partial: Path) -> None:
        run_build_script(
            argv(partial),
            env,
            partial / "build.log",
            title,
            prefix=f"{script}:",
            shown_as=(str(partial), str(folder)),
        )
        if finish is not None:
            finish(partial)

    return ensure_folder(folder, make, complete)
