"""docker/bin/pgpitr-config-reloader against a real server: a changed postgresql.conf is
reloaded without a restart (the postmaster stays), and the log says which settings wait
for a restart and which values the server refused."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from catalogue.dump import throwaway_server
from catalogue.servers import binaries
from catalogue.sources import SOURCES
from drill import environment
from harness import processes
from pgpitr_runtime import names

pytestmark = pytest.mark.e2e
RELOAD_WITHIN = 30.0


@pytest.fixture
def server() -> Iterator[Path]:
    with throwaway_server(binaries(15, SOURCES[15])) as socket:
        yield socket


def scalar(socket: Path, query: str) -> str:
    with psycopg.connect(host=str(socket), dbname="postgres", user="postgres") as connection:
        row = connection.execute(query).fetchone()
    assert row is not None
    return str(row[0])


def test_a_changed_file_is_reloaded_without_a_restart(server: Path, tmp_path: Path) -> None:
    data = server.parent / "data"
    conf = data / "postgresql.conf"
    started = scalar(server, "SELECT pg_postmaster_start_time()")
    log = tmp_path / "reloader.log"
    env = {names.POSTGRES_USER: "postgres", "PGHOST": str(server), names.PGPITR_CONFIG_CHECK_SECONDS: "0.2"}
    script = str(environment.SCRIPTS_DIR / names.CONFIG_RELOADER_SCRIPT)
    with log.open("w") as output:
        reloader = subprocess.Popen(
            processes.container_argv([script, str(conf)]), env=processes.owned_env(env), stdout=output, stderr=output
        )
    try:
        with conf.open("a") as file:
            file.write("work_mem = '64MB'\n")
        processes.wait_for(lambda: scalar(server, "SHOW work_mem") == "64MB", RELOAD_WITHIN, "work_mem to be reloaded")
        assert scalar(server, "SELECT pg_postmaster_start_time()") == started, "reloaded, not restarted"

        with conf.open("a") as file:
            file.write("shared_buffers = '64MB'\nmax_connections = 'many'\n")
        processes.wait_for(
            lambda: "waiting for a restart: shared_buffers" in log.read_text(), RELOAD_WITHIN, "the reload's report"
        )
        assert "refused: max_connections = many" in log.read_text(), log.read_text()
        assert scalar(server, "SHOW work_mem") == "64MB"
    finally:
        reloader.terminate()
        assert reloader.wait(timeout=10) == 0, log.read_text()
