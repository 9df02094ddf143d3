"""Local PostgreSQL servers run like the image runs them: through its entrypoint
(docker/bin/pgpitr-entrypoint postgres -c config_file=<the rendered postgresql.conf>),
as a non-root user."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

import psycopg

from harness import processes
from harness.paths import REPOSITORY_ROOT
from harness.processes import HarnessError
from harness.toolchain import Toolchain
from pgpitr.container_env import STOP_GRACE_SECONDS
from pgpitr_runtime import names

ENTRYPOINT = REPOSITORY_ROOT / "docker" / "bin" / names.ENTRYPOINT_SCRIPT
PRE_STOP = REPOSITORY_ROOT / "docker" / "bin" / names.PRE_STOP_SCRIPT

STARTUP_TIMEOUT = 120.0


def instance_paths(base: Path) -> dict[str, Path]:
    return {
        "pgdata": base / "data" / "pgdata",
        "conf": base / "conf" / names.POSTGRESQL_CONF_FILE,
        "socket": base / "run",
        "log": base / "postgres.log",
    }


def prepare_dirs(base: Path) -> None:
    """Directories the non-root server user writes to (the pod's volumes)."""
    for sub in ("data", "conf", "run"):
        (base / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            (base / sub).chmod(0o700)


def write_conf(base: Path, conf: str) -> Path:
    path = instance_paths(base)["conf"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(conf)
    return path


def server_options(base: Path, port: int) -> list[str]:
    """The container's `-c config_file=...`, plus where this machine differs: a free port
    on loopback and a private socket directory."""
    paths = instance_paths(base)
    return [
        "-c",
        f"config_file={paths['conf']}",
        "-c",
        f"port={port}",
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"unix_socket_directories={paths['socket']}",
    ]


def start(base: Path, port: int, env: Mapping[str, str]) -> int:
    """Starts the server as its container does, through the image's entrypoint (which
    initialises an empty PGDATA and reconciles roles first); returns once the real server
    runs (the entrypoint execs it, so it keeps the entrypoint's pid). Callers wait for
    connections themselves."""
    pid = processes.start_background(
        [str(ENTRYPOINT), "postgres", *server_options(base, port)], env, instance_paths(base)["log"]
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while postmaster_pid(base) != pid:
        if not processes.alive(pid):
            raise HarnessError(f"PostgreSQL in {base} did not start: {log_tail(base)}")
        if time.monotonic() > deadline:
            processes.stop_pid(pid, timeout=5)
            raise HarnessError(f"PostgreSQL in {base} did not start in {STARTUP_TIMEOUT:.0f}s: {log_tail(base)}")
        time.sleep(0.05)
    return pid


def postmaster_pid(base: Path) -> int | None:
    pid_file = instance_paths(base)["pgdata"] / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def running(base: Path) -> bool:
    return processes.alive(postmaster_pid(base))


def stop(tools: Toolchain, base: Path, env: Mapping[str, str], mode: str = "fast") -> None:
    """A planned stop, as Kubernetes stops the pod: the container's preStop hook (the
    archiving deadline), then a fast shutdown (the image's STOPSIGNAL is SIGINT)."""
    if not running(base):
        return
    paths = instance_paths(base)
    pid = postmaster_pid(base)
    if names.PGPITR_STOP_ARCHIVE_SECONDS in env:
        processes.run([str(PRE_STOP)], {**env, names.PGDATA: str(paths["pgdata"])}, check=False, what="pre-stop")
    processes.run(
        [tools.pg("pg_ctl"), "stop", "-D", str(paths["pgdata"]), "-m", mode, "-w", "-t", str(STOP_GRACE_SECONDS)],
        env,
        check=False,
        what="pg_ctl stop",
    )
    processes.stop_pid(pid)
    processes.end_processes_mentioning(str(paths["pgdata"]))


def fast_shutdown(base: Path, timeout: float = 60) -> None:
    """SIGINT to the postmaster (what the image's STOPSIGNAL does), SIGKILL if it hangs."""
    pid = postmaster_pid(base)
    if pid is None or not processes.alive(pid):
        return
    os.kill(pid, 2)
    try:
        processes.wait_for(lambda: not processes.alive(pid), timeout, "PostgreSQL to shut down")
    except HarnessError:
        processes.stop_pid(pid, timeout=1)
    processes.end_processes_mentioning(str(instance_paths(base)["pgdata"]))


def crash(base: Path) -> None:
    """kill -9 of the postmaster, as an OOM kill or a node failure would."""
    pid = postmaster_pid(base)
    if pid is None or not processes.alive(pid):
        raise HarnessError(f"no running server in {base}")
    os.kill(pid, 9)
    processes.wait_for(lambda: not processes.alive(pid), 30, "the killed postmaster to exit")
    # Its children notice the postmaster is gone and exit too.
    time.sleep(0.5)


def connect(dsn: str, timeout: float = 5) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, int(timeout)))


def accepts_connections(dsn: str) -> bool:
    try:
        with connect(dsn, timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def segment_number(segment: str) -> str:
    """The part of a WAL file name that orders segments (its timeline dropped)."""
    return segment[8:]


def wait_until_archived(dsn: str, segment: str, timeout: float) -> None:
    """Until `segment` (or a later one: the archiver works in order) is archived."""
    with connect(dsn) as conn:

        def archived() -> bool:
            row = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            return row is not None and row[0] is not None and segment_number(str(row[0])) >= segment_number(segment)

        processes.wait_for(archived, timeout, f"WAL segment {segment} to be archived")


def scalar(dsn: str, query: str) -> str:
    with connect(dsn) as conn:
        row = conn.execute(query).fetchone()
    if row is None:
        raise HarnessError(f"no result from {query}")
    return str(row[0])


def log_tail(base: Path, lines: int = 5) -> str:
    log = instance_paths(base)["log"]
    if not log.exists():
        return "(no log)"
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])


def wait_until_accepting(dsn: str, base: Path, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not accepts_connections(dsn):
        if not running(base) and time.monotonic() > deadline - timeout + 5:
            raise HarnessError(f"PostgreSQL in {base} stopped: {log_tail(base)}")
        if time.monotonic() > deadline:
            raise HarnessError(f"PostgreSQL in {base} did not accept connections in {timeout:.0f}s: {log_tail(base)}")
        time.sleep(0.2)
