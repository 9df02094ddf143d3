"""postgres_exporter (the Debian package) run against a drill PostgreSQL with the
queries file the sidecar ships, and scraped the way Prometheus would."""

from __future__ import annotations

import re
import shutil
import urllib.request
from pathlib import Path

from drill.state import free_port
from harness import processes
from harness.processes import HarnessError
from pgpitr.monitoring.alert_rules import exporter_queries

EXPORTER = "prometheus-postgres-exporter"
# One sample line of the text exposition format. Parsed by hand on purpose: Python's
# prometheus_client parser renames counters (adds _total), and the names that matter are
# the ones Prometheus stores, exactly as exposed.
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_exposition(text: str) -> dict[str, float]:
    """`name{labels}` -> value for every sample, and bare `name` -> its first sample's value."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, labels, value = match.group(1), match.group(2) or "{}", float(match.group(3))
        samples[f"{name}{labels}"] = value
        samples.setdefault(name, value)
    return samples


class Exporter:
    def __init__(self, directory: Path, dsn: str) -> None:
        binary = shutil.which(EXPORTER)
        if binary is None:
            raise HarnessError(f"{EXPORTER} is not installed (Debian package prometheus-postgres-exporter)")
        directory.mkdir(parents=True, exist_ok=True)
        queries = directory / "queries.yaml"
        queries.write_text(exporter_queries())
        self.port = free_port()
        self.pid = processes.start_background(
            [binary, f"--web.listen-address=127.0.0.1:{self.port}", f"--extend.query-path={queries}"],
            # lib/pq requires TLS unless told otherwise; the sidecar says the same over loopback.
            {"DATA_SOURCE_NAME": f"{dsn}?sslmode=disable", "PATH": "/usr/bin:/bin"},
            directory / "exporter.log",
            container=False,
        )
        processes.wait_for(self._answers, 30, "postgres_exporter to serve metrics")

    def _answers(self) -> bool:
        try:
            self.scrape()
            return True
        except OSError:
            if not processes.alive(self.pid):
                raise HarnessError("postgres_exporter exited") from None
            return False

    def scrape(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as response:
            return parse_exposition(response.read().decode())

    def stop(self) -> None:
        processes.stop_pid(self.pid)
