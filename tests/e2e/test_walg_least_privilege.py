"""Least privilege, as WAL-G exercises it: the pinned wal-g binary runs with each pgpitr
identity's keys against the S3 server that enforces the policies the program renders
(tests/e2e/iam.py), and a real PostgreSQL 15 where an operation needs one, started as the
drill starts the primary: through the image's entrypoint (which creates the backup and
monitoring roles), with the shipped postgresql.conf.

- primary: archiving (the shipped archive_command), wal-push, remote backup-push,
  backup-list, backup-fetch, wal-fetch, delete and wal-verify all work on its prefix;
- restored instance: reads the source archive (backup-list, backup-fetch, wal-fetch),
  archives into its own prefix, and can neither write nor delete in the source's;
- verify jobs: read and check the source archive (including wal-verify), write nothing.

A refused write is a non-zero exit with S3's 403, and the object is not there (checked
with the sandbox's admin). A refused `delete` is checked in storage only: AWS answers
DeleteObjects with 200 and the refused keys in its Errors, and WAL-G v3.0.9 ignores
them (`Objects deleted successfully`, exit 0) whoever is refused, so its exit status
says nothing either way.

moto does not evaluate the `s3:prefix` condition on ListBucket nor KMS permissions
(any SSE-KMS key id is accepted), so nothing here claims that an identity cannot list
another prefix or use another key; those statements are asserted under mocks.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drill import environment, postgres
from drill.state import free_port
from harness import processes
from harness.toolchain import Toolchain
from pgpitr.settings import StackSettings
from pgpitr.walg_env import ArchiveLocation, walg_environment, walg_prefix
from pgpitr_runtime import names
from pgpitr_runtime.wal_chain import parse_wal_verify
from tests.e2e import iam
from tests.e2e.iam import BUCKET, RESTORED, SOURCE, backup_key_arn
from tests.support.iam_sandbox import ADMIN, REGION, IamSandbox

pytestmark = pytest.mark.e2e

# The shared fixtures (tests/e2e/iam.py), bound here so that pytest finds them.
policies = iam.policies
sandbox = iam.sandbox

WALG_TIMEOUT = 120.0
"""One WAL-G call on the tests' small cluster (seconds, in practice)."""
BACKUP_TIMEOUT = 300.0
ARCHIVE_TIMEOUT = 120.0
REFUSED_ENV = {names.WALG_S3_MAX_RETRIES: "2"}
"""A refused request is not retried by the SDK; fewer tries bound the call anyway."""
ABSENT_SEGMENT = "0000000100000000000000FE"
"""A WAL file name the tests' server never reaches (4 GB of WAL on timeline 1)."""


@dataclass(frozen=True)
class Walg:
    """Runs the pinned wal-g as one identity, with the environment pgpitr's containers get
    (pgpitr.walg_env) pointed at the sandbox, as the postgres user."""

    tools: Toolchain
    sandbox: IamSandbox
    kms_key_arn: str
    compression: str

    def env(self, who: str, prefix: str) -> dict[str, str]:
        credentials = self.sandbox.credentials[who]
        location = ArchiveLocation(
            walg_prefix=walg_prefix(BUCKET, prefix),
            region=REGION,
            kms_key_id=self.kms_key_arn,
            endpoint=self.sandbox.endpoint,
        )
        return {
            **environment.base_env(self.tools),
            **walg_environment(location, self.compression),
            # wal-g by hand works on the archive's first location (the scripts resolve it).
            names.WALG_S3_PREFIX: location.walg_prefix,
            names.AWS_ACCESS_KEY_ID: credentials.access_key_id,
            names.AWS_SECRET_ACCESS_KEY: credentials.secret_access_key,
        }

    def run(
        self,
        who: str,
        *args: str,
        prefix: str = SOURCE,
        extra: Mapping[str, str] | None = None,
        timeout: float = WALG_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        return processes.run(
            [str(self.tools.walg), *args],
            self.env(who, prefix) | dict(extra or {}),
            check=False,
            timeout=timeout,
            what=f"wal-g {args[0]} as {who}",
        )

    def ok(
        self,
        who: str,
        *args: str,
        prefix: str = SOURCE,
        extra: Mapping[str, str] | None = None,
        timeout: float = WALG_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """Runs wal-g and asserts that it succeeded."""
        result = self.run(who, *args, prefix=prefix, extra=extra, timeout=timeout)
        assert result.returncode == 0, f"wal-g {shlex.join(args)} as {who} failed: {tail(result.stderr)}"
        return result

    def refused(self, who: str, *args: str, prefix: str = SOURCE) -> None:
        """Runs wal-g and asserts that it failed because storage answered 403."""
        result = self.run(who, *args, prefix=prefix, extra=REFUSED_ENV)
        assert result.returncode != 0, f"wal-g {shlex.join(args)} as {who} succeeded: {tail(result.stderr)}"
        assert "status code: 403" in result.stderr, f"not refused by storage: {tail(result.stderr)}"


def tail(text: str, lines: int = 8) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"


@dataclass(frozen=True)
class Server:
    """The source archive's PostgreSQL 15: where it listens and its roles' passwords."""

    port: int
    superuser_password: str
    backup_password: str
    monitor_password: str

    def dsn(self) -> str:
        return f"postgresql://{names.SUPERUSER_ROLE}:{self.superuser_password}@127.0.0.1:{self.port}/postgres"

    def login(self, role: str, password: str) -> dict[str, str]:
        """libpq's environment for WAL-G to connect as `role`, as the jobs do."""
        return {
            names.PGHOST: "127.0.0.1",
            names.PGPORT: str(self.port),
            names.PGUSER: role,
            names.PGPASSWORD: password,
            names.PGDATABASE: "postgres",
        }

    def backup_login(self) -> dict[str, str]:
        return self.login(names.BACKUP_ROLE, self.backup_password)

    def monitor_login(self) -> dict[str, str]:
        return self.login(names.MONITOR_ROLE, self.monitor_password)

    def switch_wal_and_wait_archived(self) -> str:
        """Writes a row, switches WAL and waits until the archiver has pushed the segment."""
        with postgres.connect(self.dsn()) as conn:
            conn.execute("INSERT INTO writes DEFAULT VALUES")
            row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        segment = str(row[0])
        postgres.wait_until_archived(self.dsn(), segment, ARCHIVE_TIMEOUT)
        return segment

    def last_archived(self) -> str:
        return postgres.scalar(self.dsn(), "SELECT last_archived_wal FROM pg_stat_archiver")


@pytest.fixture(scope="module")
def settings() -> StackSettings:
    return environment.stack_settings("dev")


@pytest.fixture(scope="module")
def walg(tools: Toolchain, sandbox: IamSandbox, policies: dict[str, dict[str, Any]], settings: StackSettings) -> Walg:
    return Walg(tools, sandbox, backup_key_arn(policies["primary"]), settings.backup.compression)


@pytest.fixture(scope="module")
def server(walg: Walg, settings: StackSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The primary as the drill creates it (DrillDeployment.create_primary): the image's
    entrypoint initialises the empty data directory and creates the backup and monitoring
    roles with their grants (docker/bin/pgpitr-reconcile-roles), then runs the server with
    the shipped postgresql.conf, whose archive_command pushes to SOURCE with the primary's
    keys. Shut down after the module, whatever happened."""
    base = tmp_path_factory.mktemp("walg-source")
    running = Server(free_port(), secrets.token_urlsafe(18), secrets.token_urlsafe(18), secrets.token_urlsafe(18))
    postgres.prepare_dirs(base)
    postgres.write_conf(base, environment.primary_conf(settings))
    entrypoint = environment.entrypoint_input(
        walg.tools,
        str(postgres.instance_paths(base)["pgdata"]),
        superuser_password=running.superuser_password,
        backup_password=running.backup_password,
        monitor_password=running.monitor_password,
    )
    try:
        postgres.start(base, running.port, entrypoint | walg.env("primary", SOURCE))
        postgres.wait_until_accepting(running.dsn(), base)
        with postgres.connect(running.dsn()) as conn:
            conn.execute("CREATE TABLE writes (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")
        yield running
    finally:
        postgres.fast_shutdown(base)


@pytest.fixture(scope="module")
def archive(server: Server, walg: Walg) -> Server:
    """The source archive holds a base backup and the WAL after it, both written by the
    primary identity."""
    walg.ok("primary", "backup-push", extra=server.backup_login(), timeout=BACKUP_TIMEOUT)
    server.switch_wal_and_wait_archived()
    return server


def objects(sandbox: IamSandbox, folder: str) -> dict[str, str]:
    """Key -> ETag of every object in `folder` (dev/postgres, not dev/postgres-restored),
    as the sandbox's admin sees them."""
    return keys_starting(sandbox, f"{folder}/")


def keys_starting(sandbox: IamSandbox, key_prefix: str) -> dict[str, str]:
    admin = sandbox.client("s3", ADMIN)
    found: dict[str, str] = {}
    for page in admin.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=key_prefix):
        found |= {item["Key"]: item["ETag"] for item in page.get("Contents", [])}
    return found


def wal_objects(sandbox: IamSandbox, prefix: str, segment: str) -> list[str]:
    """The stored object(s) of one WAL file, whatever its compression suffix."""
    return sorted(keys_starting(sandbox, f"{prefix}/wal_005/{segment}"))


def backup_names(walg: Walg, who: str, prefix: str = SOURCE) -> list[str]:
    """backup-list, oldest first."""
    listing = walg.ok(who, "backup-list", "--json", prefix=prefix).stdout.strip()
    rows: list[dict[str, Any]] = json.loads(listing) if listing else []
    return [str(row["backup_name"]) for row in sorted(rows, key=lambda row: str(row["time"]))]


def fetch_latest_backup(walg: Walg, who: str, destination: Path) -> None:
    walg.ok(who, "backup-fetch", str(destination), "LATEST", timeout=BACKUP_TIMEOUT)
    assert (destination / "PG_VERSION").is_file()
    assert (destination / "backup_label").is_file(), "a base backup carries its backup_label"


def fetch_segment(walg: Walg, who: str, segment: str, destination: Path, prefix: str = SOURCE) -> bytes:
    walg.ok(who, "wal-fetch", segment, str(destination), prefix=prefix)
    return destination.read_bytes()


def absent_segment_file(directory: Path) -> Path:
    """A file to push under a WAL name that is nowhere in storage."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ABSENT_SEGMENT
    path.write_bytes(os.urandom(256 * 1024))
    return path


def assert_chain_intact(walg: Walg, who: str, server: Server) -> None:
    """wal-verify, as the WAL chain job runs it (monitoring role), finds nothing lost."""
    server.switch_wal_and_wait_archived()
    result = walg.ok(who, "wal-verify", "integrity", "timeline", "--json", extra=server.monitor_login())
    report = parse_wal_verify(result.stdout.strip().splitlines()[-1])
    assert report.ok and report.integrity == "OK", report.summary()


def refused_delete_leaves_everything(walg: Walg, who: str) -> None:
    """`delete everything FORCE` tries to delete every object of the source archive; all
    of them are still there afterwards."""
    before = objects(walg.sandbox, SOURCE)
    assert before, "the source archive is empty: the refusal would prove nothing"
    result = walg.run(who, "delete", "everything", "FORCE", "--confirm", extra=REFUSED_ENV)
    assert "marked for deletion" in result.stderr, f"WAL-G attempted no deletion: {tail(result.stderr)}"
    after = objects(walg.sandbox, SOURCE)
    assert after == before, f"{who} deleted or changed {sorted(set(before) ^ set(after))[:5]}"


# --- primary -------------------------------------------------------------------------


def test_primary_archives_and_pushes_wal(archive: Server, walg: Walg, tmp_path: Path) -> None:
    """The shipped archive_command (pgpitr-wal-push, a bounded wal-g wal-push) works with the
    primary's keys, and so does wal-push by hand: a segment removed from storage is pushed back, byte for byte."""
    with postgres.connect(archive.dsn()) as conn:
        row = conn.execute("SELECT archived_count, failed_count FROM pg_stat_archiver").fetchone()
    assert row is not None and int(str(row[0])) > 0 and int(str(row[1])) == 0, row
    segment = archive.last_archived()
    (stored,) = wal_objects(walg.sandbox, SOURCE, segment)
    content = fetch_segment(walg, "primary", segment, tmp_path / "fetched")
    assert len(content) == 16 * 1024 * 1024

    walg.sandbox.client("s3", ADMIN).delete_object(Bucket=BUCKET, Key=stored)
    assert wal_objects(walg.sandbox, SOURCE, segment) == []
    (tmp_path / "push").mkdir()
    (tmp_path / "push" / segment).write_bytes(content)
    walg.ok("primary", "wal-push", str(tmp_path / "push" / segment))
    assert wal_objects(walg.sandbox, SOURCE, segment) == [stored]
    assert fetch_segment(walg, "primary", segment, tmp_path / "fetched-again") == content


def test_primary_backs_up_in_remote_mode_and_fetches(archive: Server, walg: Walg, tmp_path: Path) -> None:
    """backup-push without a data directory (over the replication protocol, as the backup
    role), then backup-list and backup-fetch of it."""
    before = backup_names(walg, "primary")
    pushed = walg.ok("primary", "backup-push", extra=archive.backup_login(), timeout=BACKUP_TIMEOUT)
    assert "Starting remote backup" in pushed.stderr, tail(pushed.stderr)
    after = backup_names(walg, "primary")
    assert len(after) == len(before) + 1 and after[:-1] == before, (before, after)
    assert objects(walg.sandbox, f"{SOURCE}/basebackups_005/{after[-1]}")
    fetch_latest_backup(walg, "primary", tmp_path / "pgdata")


def test_primary_applies_retention(archive: Server, walg: Walg) -> None:
    """`delete retain FULL 1` (what pgpitr-backup's retention runs) removes every older
    base backup and the WAL before the newest one."""
    walg.ok("primary", "backup-push", extra=archive.backup_login(), timeout=BACKUP_TIMEOUT)
    archive.switch_wal_and_wait_archived()
    before = backup_names(walg, "primary")
    assert len(before) >= 2, before
    oldest_wal = min(key for key in objects(walg.sandbox, f"{SOURCE}/wal_005"))

    walg.ok("primary", "delete", "retain", "FULL", "1", "--confirm")

    assert backup_names(walg, "primary") == before[-1:]
    for name in before[:-1]:
        assert not objects(walg.sandbox, f"{SOURCE}/basebackups_005/{name}"), f"{name} was not deleted"
    assert oldest_wal not in objects(walg.sandbox, f"{SOURCE}/wal_005")


def test_primary_verifies_the_wal_chain(archive: Server, walg: Walg) -> None:
    assert_chain_intact(walg, "primary", archive)


# --- restored instance ---------------------------------------------------------------


def test_restored_instance_reads_the_source_archive(archive: Server, walg: Walg, tmp_path: Path) -> None:
    """What pgpitr-restore and the wal-fetch wrapper do, with the restored instance's keys."""
    assert backup_names(walg, "restored")
    fetch_latest_backup(walg, "restored", tmp_path / "pgdata")
    segment = archive.last_archived()
    assert fetch_segment(walg, "restored", segment, tmp_path / "segment")


def test_restored_instance_cannot_write_or_delete_in_the_source_archive(
    archive: Server, walg: Walg, tmp_path: Path
) -> None:
    walg.refused("restored", "wal-push", str(absent_segment_file(tmp_path)))
    assert wal_objects(walg.sandbox, SOURCE, ABSENT_SEGMENT) == []
    refused_delete_leaves_everything(walg, "restored")


def test_restored_instance_archives_into_its_own_prefix(archive: Server, walg: Walg, tmp_path: Path) -> None:
    """restore.archive: the restored instance pushes its WAL to its own prefix, which
    neither the primary nor the verify jobs can read."""
    pushed = absent_segment_file(tmp_path / "push")
    walg.ok("restored", "wal-push", str(pushed), prefix=RESTORED)
    assert len(wal_objects(walg.sandbox, RESTORED, ABSENT_SEGMENT)) == 1
    fetched = fetch_segment(walg, "restored", ABSENT_SEGMENT, tmp_path / "fetched", prefix=RESTORED)
    assert fetched == pushed.read_bytes()
    for other in ("primary", "verify"):
        walg.refused(other, "wal-fetch", ABSENT_SEGMENT, str(tmp_path / f"fetched-by-{other}"), prefix=RESTORED)


# --- verify jobs ---------------------------------------------------------------------


def test_verify_identity_reads_and_checks_the_source_archive(archive: Server, walg: Walg, tmp_path: Path) -> None:
    """The restore drill's reads and the WAL chain check's wal-verify, with the verify keys."""
    assert backup_names(walg, "verify")
    fetch_latest_backup(walg, "verify", tmp_path / "pgdata")
    assert fetch_segment(walg, "verify", archive.last_archived(), tmp_path / "segment")
    assert_chain_intact(walg, "verify", archive)


def test_verify_identity_cannot_write_or_delete(archive: Server, walg: Walg, tmp_path: Path) -> None:
    walg.refused("verify", "wal-push", str(absent_segment_file(tmp_path)))
    assert wal_objects(walg.sandbox, SOURCE, ABSENT_SEGMENT) == []
    refused_delete_leaves_everything(walg, "verify")
