"""restore_command through a WAL-G daemon (docker/bin/pgpitr-wal-fetch and
pgpitr-walg-daemon): one daemon per recovering server, started on the first fetch and
stopped when the recovery is over; a daemon that dies is replaced; a missing segment
ends recovery (1), storage that never answers aborts it (200) within the segment limit.

The server here is a stand-in: a data directory with recovery.signal, a pg_control and a
postmaster.pid naming a process this test owns, so each condition is set exactly when the
test says."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drill import environment, postgres
from drill.deployment import DrillDeployment
from harness import processes
from pgpitr_runtime import names
from tests.e2e.storage import archive_key_prefix, objects_under

pytestmark = pytest.mark.e2e
SEGMENT_TIMEOUT = 8
DAEMON_GONE_WITHIN = 5.0
SUPERVISOR_CHECK_INTERVAL = 1.0


@dataclass
class StandInServer:
    """A data directory as restore_command sees it while a server recovers in it."""

    pgdata: Path
    postmaster: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path

    def fetch(self, segment: str, destination: str = "pg_wal/RECOVERYXLOG") -> int:
        """pgpitr-wal-fetch as PostgreSQL runs it: in the data directory, the destination
        removed first, output to the log."""
        (self.pgdata / destination).unlink(missing_ok=True)
        script = str(environment.SCRIPTS_DIR / names.WAL_FETCH_SCRIPT)
        with self.log.open("a") as log:
            argv = processes.container_argv([script, segment, destination])
            result = subprocess.run(
                argv,
                env=processes.owned_env(self.env),
                cwd=self.pgdata,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                timeout=SEGMENT_TIMEOUT + 30,
            )
        return result.returncode

    def daemons(self) -> list[int]:
        """`wal-g daemon` processes whose socket is in this server's run directory."""
        name = self.run_dir_name()
        return [
            pid
            for pid in processes.mentioning(name, in_environment=False)
            if (argv := processes.command_line(pid))[:2] == ["wal-g", "daemon"] and name in argv[2]
        ]

    def set_control_file(self, content: bytes) -> None:
        (self.pgdata / "global").mkdir(exist_ok=True)
        (self.pgdata / "global" / "pg_control").write_bytes(content)

    def run_dir(self) -> Path:
        """The directory of this server's daemon, from the socket the daemon serves."""
        (daemon,) = self.daemons()
        return Path(processes.command_line(daemon)[2]).parent

    def run_dir_name(self) -> str:
        return f"-{self.postmaster.pid}"

    def run_dirs(self) -> list[Path]:
        """What pgpitr-wal-fetch made for this server under /tmp (pgpitr-walg-UID-PID)."""
        return list(Path("/tmp").glob(f"pgpitr-walg-*{self.run_dir_name()}"))

    def wait_until_no_daemon(self, *, cleaned_up: bool = True) -> None:
        """The daemon gone and, unless its supervisor was killed (`cleaned_up=False`), its
        run directory removed: the supervisor removes it after the daemon has exited, so
        both are waited for."""
        processes.wait_for(
            lambda: not self.daemons() and not (cleaned_up and self.run_dirs()),
            DAEMON_GONE_WITHIN,
            "the WAL-G daemon to stop" + (" and its run directory to be removed" if cleaned_up else ""),
            interval=0.1,
        )


@dataclass(frozen=True)
class ControlFiles:
    in_production: bytes
    """the running primary's pg_control (a base backup's copy says the same)"""
    not_in_production: bytes
    """a stopped cluster's (shut down), standing in for one in archive recovery"""


@pytest.fixture(scope="module")
def control_files(shared_stack: DrillDeployment, tmp_path_factory: pytest.TempPathFactory) -> ControlFiles:
    stopped = tmp_path_factory.mktemp("stopped") / "pgdata"
    initdb = shared_stack.tools.pg("initdb")
    env = environment.base_env(shared_stack.tools)
    processes.run([initdb, "--pgdata", str(stopped), "--username", "postgres"], env)
    primary = postgres.instance_paths(shared_stack.primary_base)["pgdata"]
    return ControlFiles(
        in_production=(primary / "global" / "pg_control").read_bytes(),
        not_in_production=(stopped / "global" / "pg_control").read_bytes(),
    )


@pytest.fixture
def server(stack: DrillDeployment, control_files: ControlFiles, tmp_path: Path) -> Iterator[StandInServer]:
    pgdata = tmp_path / "pgdata"
    (pgdata / "pg_wal").mkdir(parents=True)
    postmaster = subprocess.Popen(["sleep", "3600"], env=processes.owned_env({}))
    (pgdata / "postmaster.pid").write_text(f"{postmaster.pid}\n{pgdata}\n")
    (pgdata / "recovery.signal").touch()
    env = {
        **environment.restore_env(stack.state, stack.settings, stack.tools, str(pgdata), {}, "restored-daemon"),
        names.PGPITR_WALG_SEGMENT_TIMEOUT: str(SEGMENT_TIMEOUT),
    }
    stand_in = StandInServer(pgdata, postmaster, env, tmp_path / "restore_command.log")
    stand_in.set_control_file(control_files.in_production)
    try:
        yield stand_in
    finally:
        postmaster.kill()
        postmaster.wait()
        stack.storage.start()
        stand_in.wait_until_no_daemon()


def archived_segments(stack: DrillDeployment) -> list[str]:
    keys = objects_under(stack, f"{archive_key_prefix(stack)}/wal_005/")
    return [Path(key).name.split(".")[0] for key in keys if ".history" not in key and ".partial" not in key]


def test_one_daemon_serves_the_recovery_and_stops_when_it_is_over(
    stack: DrillDeployment, server: StandInServer, control_files: ControlFiles
) -> None:
    segment = archived_segments(stack)[-1]
    assert server.fetch(segment) == 0, server.log.read_text()
    fetched = (server.pgdata / "pg_wal" / "RECOVERYXLOG").read_bytes()
    direct = server.pgdata.parent / "direct"
    stack.walg("wal-fetch", segment, str(direct))
    assert fetched == direct.read_bytes()
    first = server.daemons()
    assert len(first) == 1

    assert server.fetch(segment) == 0
    assert server.daemons() == first, "a second fetch must reuse the server's daemon"
    assert server.fetch("0000000100000FFF000000FF") == 1, "a segment not in storage ends recovery"

    # PostgreSQL removes recovery.signal, then still looks up timeline history files
    # through restore_command before pg_control says "in production": the daemon must
    # still serve them.
    server.set_control_file(control_files.not_in_production)
    (server.pgdata / "recovery.signal").unlink()
    time.sleep(2.5 * SUPERVISOR_CHECK_INTERVAL)
    assert server.daemons() == first
    assert server.fetch("00000002.history", "pg_wal/RECOVERYHISTORY") == 1
    assert server.daemons() == first

    server.set_control_file(control_files.in_production)
    server.wait_until_no_daemon()


def test_a_daemon_that_dies_is_replaced_and_one_whose_server_is_gone_stops(
    stack: DrillDeployment, server: StandInServer
) -> None:
    segment = archived_segments(stack)[-1]
    assert server.fetch(segment) == 0
    (daemon,) = server.daemons()
    os.kill(daemon, signal.SIGKILL)
    server.wait_until_no_daemon()
    assert server.fetch(segment) == 0, server.log.read_text()
    assert len(server.daemons()) == 1 and server.daemons() != [daemon]
    assert "wal-g daemon exited with status 137; the next restore_command starts another" in server.log.read_text()

    server.postmaster.kill()
    server.postmaster.wait()
    server.wait_until_no_daemon()


def test_storage_that_never_answers_aborts_recovery_within_the_segment_limit(
    stack: DrillDeployment, server: StandInServer
) -> None:
    segments = archived_segments(stack)
    assert server.fetch(segments[-1]) == 0
    stack.storage.hang()
    started = time.monotonic()
    status = server.fetch(segments[0])
    elapsed = time.monotonic() - started
    assert status == names.WAL_FETCH_ABORT_EXIT, server.log.read_text()
    assert elapsed < SEGMENT_TIMEOUT + 10
    assert "aborting recovery rather than ending it early" in server.log.read_text()


def test_a_run_directory_left_by_a_killed_container_is_not_trusted(
    stack: DrillDeployment, server: StandInServer
) -> None:
    """/tmp outlives a container killed without cleanup, and a new container soon reuses its
    small pids: pid files naming live processes that are not this server's daemon and
    supervisor must start a new daemon, and those processes must be left alone."""
    segment = archived_segments(stack)[-1]
    assert server.fetch(segment) == 0
    run_dir = server.run_dir()
    supervisor = int((run_dir / "supervisor.pid").read_text())
    os.kill(supervisor, signal.SIGKILL)
    (daemon,) = server.daemons()
    os.kill(daemon, signal.SIGKILL)
    server.wait_until_no_daemon(cleaned_up=False)
    assert (run_dir / "daemon.sock").exists(), "a daemon killed with SIGKILL leaves its socket"
    strangers = [subprocess.Popen(["sleep", "3600"], env=processes.owned_env({})) for _ in range(2)]
    try:
        (run_dir / "daemon.pid").write_text(f"{strangers[0].pid}\n")
        (run_dir / "supervisor.pid").write_text(f"{strangers[1].pid}\n")
        assert server.fetch(segment) == 0, server.log.read_text()
        replaced = f"WAL-G daemon for {server.pgdata} ({strangers[0].pid}) is gone; starting another"
        assert replaced in server.log.read_text()
        assert len(server.daemons()) == 1
        assert all(stranger.poll() is None for stranger in strangers), "unrelated processes were signalled"
    finally:
        for stranger in strangers:
            stranger.kill()
            stranger.wait()
