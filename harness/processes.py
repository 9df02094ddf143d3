"""Running the image's programs the way their containers would (as a non-root user), and
the processes the rig starts: sessions, waits with deadlines, stopping what is left.

PostgreSQL refuses to run as root. When the drill itself runs as root (CI does), each
"container" process runs in a user namespace where it is the postgres user, while
outside it keeps root's access to the files it needs (a clone in a 0700 directory
included). As any other user, processes simply run as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil

OWNER_VARIABLE = "PGPITR_STARTED_BY"
"""Set on every process the drill starts, to the pid of the Python process that started
it; children inherit it, so the test suite can find whatever it left running."""


def owned_env(env: Mapping[str, str]) -> dict[str, str]:
    return {**env, OWNER_VARIABLE: str(os.getpid())}


class HarnessError(RuntimeError):
    """A step of the rig failed (a command, a wait, a server); the message is one line
    saying which and why."""


class ReportedFailureError(HarnessError):
    """A check failed after producing its report, which still goes to stdout."""

    def __init__(self, message: str, report: dict[str, object]) -> None:
        super().__init__(message)
        self.report = report


def _namespace_user() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise HarnessError("running as root needs a 'postgres' system user (Debian package postgresql)") from None
    return entry.pw_uid, entry.pw_gid


def container_argv(argv: Sequence[str]) -> list[str]:
    """`argv` wrapped so it runs as a non-root user, as in the pod."""
    if os.geteuid() != 0:
        return list(argv)
    if shutil.which("unshare") is None:
        raise HarnessError("running as root needs unshare (Debian package util-linux)")
    uid, gid = _namespace_user()
    return ["unshare", "--user", f"--map-user={uid}", f"--map-group={gid}", "--", *argv]


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    input_text: str | None = None,
    timeout: float = 600,
    check: bool = True,
    what: str | None = None,
    container: bool = True,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs a container program (as a non-root user unless `container` is False) to
    completion; stderr goes to the log file the caller reads.

    It runs in a session of its own: on a timeout (or any interruption) every process of
    that session is killed, including programs that moved to a process group of their own
    (`timeout` does), so nothing it started outlives the call."""
    process = subprocess.Popen(
        container_argv(argv) if container else list(argv),
        env=owned_env(env),
        cwd=cwd,
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_session(process.pid)
        process.communicate()
        raise HarnessError(f"{what or Path(argv[0]).name} did not finish within {timeout:.0f}s; stopped it") from None
    except BaseException:
        kill_session(process.pid)
        process.communicate()
        raise
    finally:
        kill_session(process.pid)  # whatever it left behind in the background
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise HarnessError(f"{what or Path(argv[0]).name} failed with status {result.returncode}: {last}")
    return result


def _live(attributes: Sequence[str]) -> Iterator[dict[str, Any]]:
    """psutil's view of each live process but this one (zombies left out), with
    `attributes` (None where the process hides them or is gone)."""
    me = os.getpid()
    for process in psutil.process_iter(["pid", "status", *attributes], ad_value=None):
        info: dict[str, Any] = process.info
        if info["pid"] != me and info["status"] not in (None, psutil.STATUS_ZOMBIE):
            yield info


def command_line(pid: int) -> list[str]:
    """The arguments of process `pid`; empty when it is gone (or a kernel thread)."""
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def marked(variable: str, owners: Iterable[int]) -> dict[int, str]:
    """Live processes whose environment carries `variable`=<one of `owners`>, with their
    command lines."""
    wanted = {str(owner) for owner in owners}
    return {
        info["pid"]: " ".join(info["cmdline"] or ())
        for info in _live(["environ", "cmdline"])
        if (info["environ"] or {}).get(variable) in wanted
    }


def started_by(owner: int) -> dict[int, str]:
    """Live processes carrying the mark (OWNER_VARIABLE) of the Python process `owner`,
    which every process it started through this module, and their children, inherit;
    with their command lines."""
    return marked(OWNER_VARIABLE, [owner])


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL to each of `pids` that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, 9)


def session_members(session: int) -> list[int]:
    """Pids of the live processes in session `session` (its leader may be gone)."""
    members = []
    for info in _live([]):
        with contextlib.suppress(OSError):
            if os.getsid(info["pid"]) == session:
                members.append(info["pid"])
    return members


def kill_session(session: int) -> None:
    """SIGKILL to every process of `session`."""
    kill_all(session_members(session))


def mentioning(marker: str, *, in_environment: bool = True) -> list[int]:
    """Pids of live processes with `marker` in their command line or (unless
    `in_environment` is False) their environment: every helper a server starts inherits
    its PGDATA."""
    found = []
    for info in _live(["cmdline", "environ"]):
        words = list(info["cmdline"] or ())
        if in_environment:
            words += [f"{name}={value}" for name, value in (info["environ"] or {}).items()]
        if any(marker in word for word in words):
            found.append(info["pid"])
    return found


def end_processes_mentioning(marker: str, grace: float = 5.0) -> None:
    """Lets the processes `mentioning(marker)` exit on their own for up to `grace` seconds
    (restore_command's WAL-G daemon notices its server's end within a second and cleans
    up after itself), then SIGKILLs whatever is left."""
    with contextlib.suppress(HarnessError):
        wait_for(lambda: not mentioning(marker), grace, f"the processes of {marker} to end", interval=0.1)
    kill_all(mentioning(marker))


def start_background(argv: Sequence[str], env: Mapping[str, str], log: Path, container: bool = True) -> int:
    """Starts a long-running process detached from the drill; returns its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            container_argv(argv) if container else list(argv),
            env=owned_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return process.pid


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM (a CI timeout, `kill`) ends the command as Ctrl-C would: by an exception,
    so every `finally` and context manager runs and the servers it started are stopped.
    Python's default would end the process at once and leave them running."""

    def stop(signum: int, _frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM ends it at once
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    """Polls `condition` until it holds; HarnessError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def stop_pid(pid: int | None, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL after `timeout`; reaps it if it is our child."""
    if not alive(pid):
        return
    assert pid is not None
    for sig, wait in ((15, timeout), (9, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        if not alive(pid):
            return
