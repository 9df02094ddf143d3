"""Client-side encryption (backup.encryption: libsodium, and PGP with an armored private
key and a passphrase, as components.backup_encryption delivers them): what lands in
storage is neither a readable archive nor WAL, a restore with the key restores exactly
the rows, and a restore with a wrong, missing or malformed key stops within seconds with
one line saying the key does not decrypt the backup, instead of WAL-G retrying for many
minutes, and leaves no process behind."""

from __future__ import annotations

import base64
import contextlib
import re
import secrets
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from components.backup_encryption import key_delivery
from drill import encryption_keys, environment, postgres
from drill.deployment import DrillDeployment
from drill.scenario import Workload, restored_ids
from harness import processes
from harness.processes import HarnessError
from harness.toolchain import Toolchain
from pgpitr.container_env import recovery_environment
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget
from tests.e2e.stacks import changed_dev_stack
from tests.e2e.storage import archive_key_prefix, objects_under

pytestmark = pytest.mark.e2e
LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"
FAIL_WITHIN = 120.0
"""A restore with a bad key must fail within this many seconds (WAL-G alone retried for
many minutes)."""
KEY_LINE = re.compile(
    r"pgpitr-restore: ERROR: the configured encryption key does not decrypt backup base_[0-9A-F]{24}: (?P<reason>.+)$"
)
LATEST = RecoveryTarget.parse("latest", None)


@dataclass
class EncryptedStack:
    stack: DrillDeployment
    work: Workload
    method: str


@pytest.fixture(scope="module", params=["libsodium", "pgp"])
def encrypted(
    request: pytest.FixtureRequest, tools: Toolchain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EncryptedStack]:
    """A drill stack whose stack file encrypts backups with `method`, with two phases of
    rows: one base backup after phase 1, phase 2 archived."""
    method: str = request.param
    encryption = {"method": method} | ({"existingSecret": "backup-pgp-key"} if method == "pgp" else {})

    def encrypt(config: dict[str, Any]) -> None:
        config["pgpitr:backup"]["encryption"] = encryption

    with changed_dev_stack(tmp_path_factory.mktemp(f"encrypted-{method}"), "encrypted", encrypt) as running:
        work = Workload(running)
        work.create_table()
        work.write_phase(1)
        running.backup()
        work.write_phase(2)
        running.switch_wal_and_wait_archived()
        yield EncryptedStack(running, work, method)


def stored_objects(stack: DrillDeployment) -> dict[str, bytes]:
    client = stack.storage.client()
    return {
        key: client.get_object(Bucket=stack.state.s3.bucket, Key=key)["Body"].read()
        for key in objects_under(stack, archive_key_prefix(stack))
        if key.endswith((".lz4", ".br", ".zst", ".lzma"))
    }


def readable_as_tar(data: bytes) -> bool:
    try:
        with tarfile.open(fileobj=BytesIO(data)) as archive:
            archive.getmembers()
        return True
    except (tarfile.TarError, EOFError):
        return False


def test_the_drill_delivers_the_key_as_the_components_do(encrypted: EncryptedStack) -> None:
    settings = encrypted.stack.settings
    env = environment.encryption_env(encrypted.stack.state, settings)
    assert set(env) == {variable.name for variable in key_delivery(settings.backup).env}
    configured = {names.PGPITR_ENCRYPTION_METHOD, names.PGPITR_ENCRYPTION_KEY_SOURCE}
    if encrypted.method == "libsodium":
        assert set(env) == {names.WALG_LIBSODIUM_KEY, names.WALG_LIBSODIUM_KEY_TRANSFORM} | configured
        assert len(base64.b64decode(env[names.WALG_LIBSODIUM_KEY])) == encryption_keys.LIBSODIUM_KEY_BYTES
    else:
        assert set(env) == {names.WALG_PGP_KEY, names.WALG_PGP_KEY_PASSPHRASE} | configured
        assert env[names.WALG_PGP_KEY].startswith("-----BEGIN PGP PRIVATE KEY BLOCK-----")
        assert env[names.WALG_PGP_KEY_PASSPHRASE]


def test_stored_objects_are_unreadable(encrypted: EncryptedStack) -> None:
    objects = stored_objects(encrypted.stack)
    wal = {k: v for k, v in objects.items() if "/wal_005/" in k}
    tars = {k: v for k, v in objects.items() if "/tar_partitions/" in k}
    assert wal and tars
    for key, data in objects.items():
        assert not data.startswith(LZ4_FRAME_MAGIC), f"{key} is a plain lz4 frame"
        assert not readable_as_tar(data), f"{key} reads as a tar archive"
        assert b"PG_VERSION" not in data and b"pgpitr_drill_rows" not in data, key


def test_restore_with_the_right_key_restores_exactly_the_rows(encrypted: EncryptedStack) -> None:
    stack = encrypted.stack
    instance = stack.restore(LATEST, RecoveryOptions())
    try:
        assert restored_ids(stack, stack.state.dsn(instance)) == encrypted.work.ids_through(2)
        log = (stack.state.path / instance.name / "restore.log").read_text()
        assert "with the configured encryption settings" in log
    finally:
        stack.remove_restored(instance)


def bad_key_env(stack: EncryptedStack, case: str) -> dict[str, str | None]:
    """What replaces the key variables (None: unset) for a wrong, missing or malformed key."""
    if stack.method == "libsodium":
        if case == "wrong":
            return {names.WALG_LIBSODIUM_KEY: encryption_keys.libsodium_key()}
        if case == "missing":
            return {names.WALG_LIBSODIUM_KEY: None, names.WALG_LIBSODIUM_KEY_TRANSFORM: None}
        # Base64, but 16 bytes instead of 32.
        return {names.WALG_LIBSODIUM_KEY: base64.b64encode(secrets.token_bytes(16)).decode()}
    if case == "wrong":
        passphrase = secrets.token_urlsafe(12)
        return {names.WALG_PGP_KEY: encryption_keys.pgp_key(passphrase), names.WALG_PGP_KEY_PASSPHRASE: passphrase}
    if case == "missing":
        return {names.WALG_PGP_KEY: None, names.WALG_PGP_KEY_PASSPHRASE: None}
    # The right key, cut off in the middle of its armored body.
    key = stack.stack.state.pgp_key
    return {names.WALG_PGP_KEY: key[: len(key) // 2] + "\n-----END PGP PRIVATE KEY BLOCK-----\n"}


EXPECTED_REASON = {
    ("libsodium", "wrong"): "corrupted chunk",
    ("libsodium", "missing"): "lz4: bad magic number",
    ("libsodium", "malformed"): "key must be exactly 32 bytes (got 16 bytes)",
    ("pgp", "wrong"): "openpgp: incorrect key",
    ("pgp", "missing"): "lz4: bad magic number",
    ("pgp", "malformed"): "failed to init decrypt reader: ",
}


def processes_left_in(directory: Path) -> list[str]:
    """Live processes that belong to a run in `directory`: it is in their command line or
    their environment. Every process the restore script starts (wal-g, and any wal-g
    wal-prefetch a wal-fetch forks) inherits PGDATA, which is under it. Other wal-g
    processes on the machine (the primary's archiving, other tests) do not count."""
    left = []
    for pid in processes.mentioning(str(directory)):
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            left.append(f"{pid}: {command.strip()}")
    return left


@pytest.mark.parametrize("case", ["wrong", "missing", "malformed"])
def test_restore_with_a_bad_key_fails_fast_with_one_line(encrypted: EncryptedStack, case: str) -> None:
    stack = encrypted.stack
    base = stack.state.path / f"bad-key-{case}"
    postgres.prepare_dirs(base)
    pgdata = postgres.instance_paths(base)["pgdata"]
    recovery = recovery_environment(LATEST, RecoveryOptions(), "auto", environment.WAL_FETCH_COMMAND)
    env = environment.restore_env(stack.state, stack.settings, stack.tools, str(pgdata), recovery, base.name)
    for variable, value in bad_key_env(encrypted, case).items():
        if value is None:
            env.pop(variable, None)
        else:
            env[variable] = value

    started = time.monotonic()
    # Not processes.run: it kills what a program leaves behind, and this test must see it.
    with (base / "restore.out").open("w") as out, (base / "restore.err").open("w") as err:
        script = subprocess.Popen(
            processes.container_argv([str(environment.SCRIPTS_DIR / names.RESTORE_SCRIPT)]),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            status = script.wait(timeout=FAIL_WITHIN + 60)
        except subprocess.TimeoutExpired:
            processes.stop_pid(script.pid, timeout=5)
            pytest.fail(f"the restore with a {case} key was still running after {FAIL_WITHIN + 60:.0f}s")
    elapsed = time.monotonic() - started
    stderr = (base / "restore.err").read_text()
    left = processes_left_in(base)

    print(f"{encrypted.method} {case} key: status {status} after {elapsed:.1f}s: {stderr.strip().splitlines()[-1]}")
    assert status != 0, stderr
    assert elapsed < FAIL_WITHIN, f"took {elapsed:.0f}s"
    error_lines = [line for line in stderr.splitlines() if "ERROR" in line]
    assert len(error_lines) == 1, stderr
    matched = KEY_LINE.search(error_lines[0])
    assert matched is not None, error_lines[0]
    assert EXPECTED_REASON[encrypted.method, case] in matched["reason"]
    if case == "missing":
        assert "no key is configured" in matched["reason"]
    assert stderr.strip().splitlines()[-1] == error_lines[0]
    assert not left, f"left running: {left}"
    assert not pgdata.exists() or not any(pgdata.iterdir()), "nothing may be fetched with a bad key"
    assert not (pgdata.parent / names.RESTORE_KEY_CHECK_DIR).exists()


def test_the_drill_reports_the_key_line(encrypted: EncryptedStack) -> None:
    """`python -m drill restore` with a wrong key: the drill's error is the script's line."""
    state = encrypted.stack.state
    saved = (state.libsodium_key, state.pgp_key, state.pgp_passphrase)
    if encrypted.method == "libsodium":
        state.libsodium_key = encryption_keys.libsodium_key()
    else:
        state.pgp_passphrase = secrets.token_urlsafe(12)
        state.pgp_key = encryption_keys.pgp_key(state.pgp_passphrase)
    started = time.monotonic()
    try:
        with pytest.raises(HarnessError, match="the configured encryption key does not decrypt backup base_"):
            encrypted.stack.restore(LATEST, RecoveryOptions())
    finally:
        state.libsodium_key, state.pgp_key, state.pgp_passphrase = saved
        state.save()
    assert time.monotonic() - started < FAIL_WITHIN
