"""Client-side encryption (backup.encryption: {method: libsodium}): what lands in storage
is neither a readable archive nor WAL, a restore with the key works, and one without it
fails with a clear message."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
import yaml

from drill import local_stack
from drill.local_stack import LocalStack
from drill.processes import DrillError
from drill.scenario import Workload, restored_ids
from drill.toolchain import Toolchain
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget
from tests.e2e.storage import archive_key_prefix, objects_under

pytestmark = pytest.mark.e2e
LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def encrypted(tools: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory = tmp_path_factory.mktemp("encrypted")
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["pgpitr:backup"]["encryption"] = {"method": "libsodium"}
    stack_file = directory / "Pulumi.encrypted.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    running = local_stack.up(directory / "stack", str(stack_file))
    yield running
    local_stack.down(directory / "stack")


def stored_objects(stack: LocalStack) -> dict[str, bytes]:
    client = stack.s3_client()
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


def test_encrypted_objects_are_unreadable_and_restore_needs_the_key(encrypted: LocalStack) -> None:
    work = Workload(encrypted)
    work.create_table()
    work.write_phase(1)
    encrypted.backup()
    work.write_phase(2)
    encrypted.switch_wal_and_wait_archived()

    objects = stored_objects(encrypted)
    wal = {k: v for k, v in objects.items() if "/wal_005/" in k}
    tars = {k: v for k, v in objects.items() if "/tar_partitions/" in k}
    assert wal and tars
    for key, data in objects.items():
        assert not data.startswith(LZ4_FRAME_MAGIC), f"{key} is a plain lz4 frame"
        assert not readable_as_tar(data), f"{key} reads as a tar archive"
        assert b"PG_VERSION" not in data and b"pgpitr_drill_rows" not in data, key

    instance = encrypted.restore(RecoveryTarget.parse("latest", None), RecoveryOptions())
    assert restored_ids(encrypted, encrypted.state.dsn(instance)) == work.ids_through(2)
    encrypted.remove_restored(instance)

    key = encrypted.state.libsodium_key
    encrypted.state.libsodium_key = "A" * 43 + "="  # a well-formed key, but not the one used
    try:
        with pytest.raises(DrillError, match="pgpitr-restore failed"):
            encrypted.restore(RecoveryTarget.parse("latest", None), RecoveryOptions())
    finally:
        encrypted.state.libsodium_key = key
