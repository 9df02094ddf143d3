"""The exporter the sidecar runs (Debian's postgres_exporter here) against a real
PostgreSQL configured from the rendered postgresql.conf and initialised by the image's
initdb script, with the shipped queries file: every metric the alert rules use exists,
and the archiving metrics move the way the alerts expect when archiving fails and
recovers.

Two variants. Without WAL-G: a real PostgreSQL whose archive_command is switched to a
command that fails (/bin/false), then to one that succeeds (/bin/true), through ALTER
SYSTEM, so the exporter contract is proven on any machine. With WAL-G (the drill's
stack): the real archive_command, and the S3 endpoint stopped and started again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from drill import environment, postgres
from drill.deployment import DrillDeployment, new_state
from drill.exporter import Exporter
from drill.state import DrillState
from harness import processes
from harness.toolchain import Toolchain, find_pg_bindir
from pgpitr.monitoring.rule_metrics import exporter_metric_names
from pgpitr_runtime import names
from tests.mocks.harness import kubernetes_objects, run_program
from tests.requirements import require_program

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def exporter_program() -> str:
    return require_program("prometheus-postgres-exporter", "run `make setup` (Debian package of that name)")


def rule_metric_names(dev_config: dict[str, Any]) -> set[str]:
    (rule,) = [o for o in kubernetes_objects(run_program(dev_config)) if o["kind"] == "PrometheusRule"]
    return exporter_metric_names(rule["spec"]["groups"])


class BarePrimary:
    """The primary as the drill builds it, without storage: archiving goes wherever
    ALTER SYSTEM points archive_command."""

    def __init__(self, directory: Path) -> None:
        self.state: DrillState = new_state(directory, "dev")
        self.tools = Toolchain(pg_bindir=find_pg_bindir(), walg=directory / "no-walg" / "wal-g")
        self.base = directory / "primary"
        settings = environment.stack_settings("dev")
        pgdata = str(postgres.instance_paths(self.base)["pgdata"])
        self.env = environment.server_env(self.state, settings, self.tools, pgdata)
        postgres.prepare_dirs(self.base)
        postgres.write_conf(self.base, environment.primary_conf(settings))
        postgres.start(self.base, self.state.primary.port, self.env)
        self.dsn = self.state.dsn(self.state.primary)
        postgres.wait_until_accepting(self.dsn, self.base)

    def archive_with(self, command: str) -> None:
        with postgres.connect(self.dsn) as conn:
            # ALTER SYSTEM takes no bind parameters: quote the value as a literal.
            conn.execute(sql.SQL("ALTER SYSTEM SET archive_command = {}").format(sql.Literal(command)))
            conn.execute("SELECT pg_reload_conf()")

    def write_and_switch(self, segments: int = 3) -> None:
        with postgres.connect(self.dsn) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS churn (x int)")
            for _ in range(segments):
                conn.execute("INSERT INTO churn SELECT generate_series(1, 1000)")
                conn.execute("SELECT pg_switch_wal()")

    def monitor_dsn(self) -> str:
        return self.state.dsn(self.state.primary, names.MONITOR_ROLE, self.state.monitor_password)

    def stop(self) -> None:
        postgres.fast_shutdown(self.base)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BarePrimary]:
    primary = BarePrimary(tmp_path_factory.mktemp("bare"))
    yield primary
    primary.stop()


def wait_for_metric(exporter: Exporter, name: str, predicate: Any, timeout: float = 120) -> float:
    seen: dict[str, float] = {}

    def holds() -> bool:
        seen.update(exporter.scrape())
        return name in seen and bool(predicate(seen[name]))

    processes.wait_for(holds, timeout, f"{name} to change as expected (last {seen.get(name)})", interval=1)
    return seen[name]


def test_exporter_metrics_follow_archiving_failure_and_recovery(
    bare: BarePrimary, dev_config: dict[str, Any], tmp_path: Path
) -> None:
    exporter = Exporter(tmp_path / "exporter", bare.monitor_dsn())
    try:
        scraped = exporter.scrape()
        assert scraped["pg_up"] == 1
        assert not [k for k, v in scraped.items() if k.startswith("pg_exporter_user_queries_load_error{") and v]
        missing = sorted(n for n in rule_metric_names(dev_config) if n not in scraped)
        assert not missing, f"the alert rules use metrics the exporter does not produce: {missing}"

        bare.archive_with("/bin/false")
        bare.write_and_switch()
        wait_for_metric(exporter, "pg_stat_archiver_failed_count", lambda v: v >= 1)
        wait_for_metric(exporter, "pg_wal_archive_ready_count", lambda v: v >= 2)
        first_age = wait_for_metric(exporter, "pg_wal_archive_oldest_ready_age_seconds", lambda v: v > 0)
        wait_for_metric(exporter, "pg_wal_archive_oldest_ready_age_seconds", lambda v: v > first_age)
        archived_before = exporter.scrape()["pg_stat_archiver_archived_count"]

        bare.archive_with("/bin/true")
        wait_for_metric(exporter, "pg_wal_archive_ready_count", lambda v: v == 0)
        assert wait_for_metric(exporter, "pg_stat_archiver_archived_count", lambda v: v > archived_before)
        assert exporter.scrape()["pg_wal_archive_oldest_ready_age_seconds"] == 0
    finally:
        exporter.stop()


def test_backup_metrics_read_the_backup_history(bare: BarePrimary, tmp_path: Path) -> None:
    exporter = Exporter(tmp_path / "exporter", bare.monitor_dsn())
    try:
        scraped = exporter.scrape()
        assert scraped["pgpitr_backup_last_success_timestamp_seconds"] == 0
        since = scraped["pgpitr_backup_tracking_since_timestamp_seconds"]
        assert abs(since - time.time()) < 3600
        backup_dsn = bare.state.dsn(bare.state.primary, names.BACKUP_ROLE, bare.state.backup_password)
        with postgres.connect(backup_dsn) as conn:
            conn.execute("INSERT INTO pgpitr.backup_history (backup_name) VALUES ('base_000000010000000000000002')")
        recorded = wait_for_metric(exporter, "pgpitr_backup_last_success_timestamp_seconds", lambda v: v > 0)
        assert abs(recorded - time.time()) < 600
    finally:
        exporter.stop()


def test_with_walg_a_storage_outage_shows_and_clears(
    stack: DrillDeployment, dev_config: dict[str, Any], tmp_path: Path
) -> None:
    monitor = stack.state.dsn(stack.state.primary, names.MONITOR_ROLE, stack.state.monitor_password)
    exporter = Exporter(tmp_path / "exporter", monitor)
    try:
        missing = sorted(n for n in rule_metric_names(dev_config) if n not in exporter.scrape())
        assert not missing
        failed_before = exporter.scrape()["pg_stat_archiver_failed_count"]
        stack.storage.stop()
        try:
            with postgres.connect(stack.primary_dsn()) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS outage_churn (x int)")
                for _ in range(3):
                    conn.execute("INSERT INTO outage_churn SELECT generate_series(1, 1000)")
                    conn.execute("SELECT pg_switch_wal()")
            # WAL-G retries a refused connection for about 10 s (WALG_S3_MAX_RETRIES), then
            # wal-push fails: the counter must rise within a couple of minutes.
            wait_for_metric(exporter, "pg_stat_archiver_failed_count", lambda v: v > failed_before, timeout=120)
            wait_for_metric(exporter, "pg_wal_archive_ready_count", lambda v: v >= 2, timeout=120)
        finally:
            stack.storage.start()
        wait_for_metric(exporter, "pg_wal_archive_ready_count", lambda v: v == 0, timeout=600)
    finally:
        exporter.stop()
