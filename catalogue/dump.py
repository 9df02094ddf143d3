"""A major's parameter catalogue, read from `pg_settings` of a server started for it in a
throwaway data directory (no network: a Unix socket only), stopped and removed afterwards
whatever happens."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import psycopg

from catalogue.servers import Binaries
from harness.processes import HarnessError, wait_for

STARTUP_TIMEOUT: Final = 60.0
QUERY: Final = """
SELECT name, vartype, unit, min_val, max_val, enumvals, context
FROM pg_settings ORDER BY name
"""


def _owned_by_the_server(path: Path, binaries: Binaries) -> None:
    """In a chroot the server runs as the postgres user; here, as root, it runs as this
    user mapped to postgres in a user namespace (harness.processes), so it owns what root owns."""
    if binaries.chrooted:
        os.chown(path, *binaries.server_user())


@contextmanager
def throwaway_server(binaries: Binaries) -> Iterator[Path]:
    """The server's socket folder (a host path) while it runs."""
    scratch = Path(tempfile.mkdtemp(prefix="pgpitr-catalogue-", dir=binaries.root / "tmp"))
    inside = Path("/") / scratch.relative_to(binaries.root)
    data, socket = scratch / "data", scratch / "socket"
    for folder in (scratch, data, socket):
        folder.mkdir(exist_ok=True)
        _owned_by_the_server(folder, binaries)
    log = (scratch / "server.log").open("w")
    server: subprocess.Popen[bytes] | None = None
    try:
        with binaries.running_environment():
            initdb = binaries.argv(
                "initdb",
                ["-D", str(inside / "data"), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"],
            )
            subprocess.run(initdb, check=True, stdout=log, stderr=log)
            options = ["-D", str(inside / "data"), "-c", "listen_addresses=", "-k", str(inside / "socket")]
            server = subprocess.Popen(binaries.argv("postgres", options), stdout=log, stderr=log)
            wait_for(lambda: any(socket.glob(".s.PGSQL.*")), STARTUP_TIMEOUT, "the catalogue server to start")
            yield socket
    except subprocess.CalledProcessError:
        raise HarnessError(f"initdb failed: {(scratch / 'server.log').read_text().strip()[-300:]}") from None
    finally:
        if server is not None:
            server.terminate()  # smart shutdown; nothing is connected any more
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _bound(value: str | None) -> int | float | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def read_catalogue(socket: Path) -> dict[str, Any]:
    """{"version": "17.6", "parameters": {name: {type, unit, min, max, values, context}}},
    the entries' keys left out where pg_settings has NULL."""
    with psycopg.connect(host=str(socket), dbname="postgres", user="postgres") as connection:
        version = connection.execute("SHOW server_version").fetchone()
        rows = connection.execute(QUERY).fetchall()
    parameters: dict[str, Any] = {}
    for name, vartype, unit, min_val, max_val, enumvals, context in rows:
        entry: dict[str, Any] = {"type": vartype, "context": context}
        if unit is not None:
            entry["unit"] = unit
        if vartype in ("integer", "real"):
            entry["min"], entry["max"] = _bound(min_val), _bound(max_val)
        if enumvals is not None:
            entry["values"] = list(enumvals)
        parameters[name] = entry
    assert version is not None
    return {"version": str(version[0]).split()[0], "parameters": parameters}
