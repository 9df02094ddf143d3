"""pgpitr-restore's key check: `wal-g wal-fetch` of the backup's first WAL segment, judged
from its exit status and stderr. The messages are WAL-G v3.0.9's, verbatim, as it printed
them against the drill's storage (libsodium and PGP, lz4 unless said otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgpitr_runtime import names
from pgpitr_runtime.key_check import FetchVerdict, classify_fetch, problem_line, walg_reason

ROOT = Path(__file__).resolve().parents[2]
BACKUP = "base_000000010000000000000002"
SEGMENT = "000000010000000000000002"
SOURCE = "s3://pgpitr-drill/enc/postgres"

# --- what WAL-G printed --------------------------------------------------------
LIBSODIUM_WRONG_KEY = "ERROR: 2026/11/26 16:56:52.751258 corrupted chunk\n"
NO_KEY_LZ4 = "ERROR: 2026/11/26 16:56:53.322826 lz4: bad magic number\n"
NO_KEY_ZSTD = "ERROR: 2026/11/26 17:01:34.159704 invalid input: magic number mismatch\n"
NO_KEY_BROTLI = "ERROR: 2026/11/26 17:01:35.158976 cbrotli: CL_SPACE\n"
NO_KEY_LZMA = "ERROR: 2026/11/26 17:01:36.049458 lzma: stream size 3945043587132533824 exceeds a pebibyte (1024^5)\n"
LIBSODIUM_NOT_BASE64 = (
    "ERROR: 2026/11/26 16:56:53.891451 failed to init decrypt reader: libsodium Crypter: during key transform:"
    " while base64 decoding key: illegal base64 data at input byte 3\n"
)
LIBSODIUM_SHORT_KEY = (
    "ERROR: 2026/11/26 16:56:54.464640 failed to init decrypt reader: libsodium Crypter: during key transform:"
    " key must be exactly 32 bytes (got 5 bytes)\n"
)
PGP_WRONG_KEY = "ERROR: 2026/11/26 17:00:57.825662 failed to init decrypt reader: openpgp: incorrect key\n"
PGP_WRONG_PASSPHRASE = (
    "ERROR: 2026/11/26 17:01:00.892889 failed to init decrypt reader:"
    " openpgp: invalid data: private key checksum failure\n"
)
PGP_NOT_A_KEY = (
    "ERROR: 2026/11/26 17:00:59.723526 failed to init decrypt reader:"
    " openpgp: invalid argument: no armored data found\n"
)
PGP_TRUNCATED_KEY = "ERROR: 2026/11/26 17:01:00.314259 failed to init decrypt reader: unexpected EOF\n"
PGP_GARBAGE_ARMOR = (
    "ERROR: 2026/11/26 17:01:13.074118 failed to init decrypt reader:"
    " openpgp: invalid data: tag byte does not have MSB set\n"
)
PGP_PUBLIC_KEY_WITH_PASSPHRASE = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x148 pc=0xefdd77]

goroutine 1 [running]:
github.com/ProtonMail/go-crypto/openpgp/packet.(*PrivateKey).Dummy(...)
\tgithub.com/ProtonMail/go-crypto@v1.4.1/openpgp/packet/private_key.go:357
github.com/wal-g/wal-g/internal/crypto/openpgp.decryptSecretKey({0x2bd4c9774dc8, 0x1, 0x23efcee?}, {0x2bd4c97f18d8?})
\tgithub.com/wal-g/wal-g/internal/crypto/openpgp/key.go:41 +0xa8
main.main()
\tgithub.com/wal-g/wal-g/main/pg/main.go:8 +0xf
"""
NOT_IN_STORAGE = "ERROR: 2026/11/26 16:56:59.445474 Archive '000000010000000000000002' does not exist.\n"
CONNECTION_REFUSED = """INFO: 2026/11/26 16:57:00.016611 Retrying S3 request due to transient network error: \
RequestError: send request failed
caused by: Head "http://127.0.0.1:1/pgpitr-drill/enc/postgres/wal_005/000000010000000000000002.lz4": \
dial tcp 127.0.0.1:1: connect: connection refused
ERROR: 2026/11/26 16:57:11.346736 check file for existence in "default": failed to head s3 object \
'enc/postgres/wal_005/000000010000000000000002.lz4': RequestError: send request failed
caused by: Head "http://127.0.0.1:1/pgpitr-drill/enc/postgres/wal_005/000000010000000000000002.lz4": \
dial tcp 127.0.0.1:1: connect: connection refused
"""
FORBIDDEN = (
    'ERROR: 2026/11/26 17:01:54.313003 check file for existence in "default": failed to head s3 object'
    " 'enc/postgres/wal_005/000000010000000000000002.lz4': Forbidden: Forbidden\n"
    "\tstatus code: 403, request id: HAmI0Npw4BOaaMrzrqlpKiL444zS1moaHefBoWPK2BEOXV2E7Hbr, host id: \n"
)
TIMED_OUT = (
    "2026-11-26T17:07:00Z pgpitr-restore: ERROR: wal-g wal-fetch did not finish within 120s:"
    " the storage endpoint is unreachable or not answering\n"
)
DESTINATION_EXISTS = "ERROR: 2026/11/26 17:01:23.141173 open /tmp/encexp/seg: file exists\n"

KEY_PROBLEMS = {
    "libsodium wrong key": LIBSODIUM_WRONG_KEY,
    "no key, lz4": NO_KEY_LZ4,
    "no key, zstd": NO_KEY_ZSTD,
    "no key, brotli": NO_KEY_BROTLI,
    "no key, lzma": NO_KEY_LZMA,
    "libsodium key not base64": LIBSODIUM_NOT_BASE64,
    "libsodium key too short": LIBSODIUM_SHORT_KEY,
    "pgp wrong key": PGP_WRONG_KEY,
    "pgp wrong passphrase": PGP_WRONG_PASSPHRASE,
    "pgp not a key": PGP_NOT_A_KEY,
    "pgp truncated key": PGP_TRUNCATED_KEY,
    "pgp garbage armor": PGP_GARBAGE_ARMOR,
}


@pytest.mark.parametrize("stderr", KEY_PROBLEMS.values(), ids=KEY_PROBLEMS.keys())
def test_decryption_failures_are_key_problems(stderr: str) -> None:
    verdict = classify_fetch(1, stderr)
    assert verdict.kind == "key"
    assert verdict.reason == stderr.split(" ", 3)[3].strip()  # WAL-G's words without level and time


def test_a_crash_reading_a_public_pgp_key_is_a_key_problem() -> None:
    verdict = classify_fetch(2, PGP_PUBLIC_KEY_WITH_PASSPHRASE)
    assert verdict.kind == "key"
    assert verdict.reason.startswith("panic: runtime error: invalid memory address or nil pointer dereference")
    assert "public key only" in verdict.reason


def test_missing_segment() -> None:
    assert classify_fetch(74, NOT_IN_STORAGE) == FetchVerdict(
        "missing", "Archive '000000010000000000000002' does not exist."
    )


@pytest.mark.parametrize(
    ("status", "stderr", "reason"),
    [
        (
            1,
            CONNECTION_REFUSED,
            'check file for existence in "default": failed to head s3 object \'enc/postgres/wal_005/'
            "000000010000000000000002.lz4': RequestError: send request failed; caused by: Head \"http://127.0.0.1:1/"
            'pgpitr-drill/enc/postgres/wal_005/000000010000000000000002.lz4": dial tcp 127.0.0.1:1: connect:'
            " connection refused",
        ),
        (
            1,
            FORBIDDEN,
            'check file for existence in "default": failed to head s3 object \'enc/postgres/wal_005/'
            "000000010000000000000002.lz4': Forbidden: Forbidden; status code: 403, request id:"
            " HAmI0Npw4BOaaMrzrqlpKiL444zS1moaHefBoWPK2BEOXV2E7Hbr, host id:",
        ),
        (
            124,
            TIMED_OUT,
            "wal-g wal-fetch did not finish within 120s: the storage endpoint is unreachable or not answering",
        ),
        (137, "", "wal-g ran out of time"),
    ],
    ids=["connection refused", "403", "time limit", "killed"],
)
def test_storage_failures(status: int, stderr: str, reason: str) -> None:
    assert classify_fetch(status, stderr) == FetchVerdict("storage", reason)


def test_retries_that_succeeded_do_not_hide_the_key_problem() -> None:
    retried = CONNECTION_REFUSED.split("ERROR:")[0] + LIBSODIUM_WRONG_KEY
    assert classify_fetch(1, retried) == FetchVerdict("key", "corrupted chunk")


def test_anything_else_is_neither_key_nor_storage() -> None:
    assert classify_fetch(1, DESTINATION_EXISTS) == FetchVerdict("other", "open /tmp/encexp/seg: file exists")
    assert classify_fetch(1, "") == FetchVerdict("other", "no output")
    assert classify_fetch(0, "") == FetchVerdict("ok", "")


def test_reason_is_one_bounded_line() -> None:
    reason = walg_reason("ERROR: 2026/11/26 16:56:52.751258 " + "x" * 1000 + "\n\tmore\n")
    assert "\n" not in reason and len(reason) == 400 and reason.endswith("...")


def line(verdict: FetchVerdict, status: int = 1, has_key: bool = True) -> str | None:
    return problem_line(verdict, status, BACKUP, SEGMENT, SOURCE, has_key)


def test_problem_lines() -> None:
    assert line(classify_fetch(0, "")) is None
    assert line(classify_fetch(1, LIBSODIUM_WRONG_KEY)) == (
        f"the configured encryption key does not decrypt backup {BACKUP}: corrupted chunk"
    )
    no_key = line(classify_fetch(1, NO_KEY_LZ4), has_key=False)
    assert no_key is not None
    assert no_key.startswith(f"the configured encryption key does not decrypt backup {BACKUP}: no key is configured")
    assert no_key.endswith("lz4: bad magic number")
    storage = line(classify_fetch(1, CONNECTION_REFUSED))
    assert storage is not None and storage.startswith(f"storage failure: could not read WAL segment {SEGMENT}")
    assert "does not decrypt" not in storage
    assert line(classify_fetch(74, NOT_IN_STORAGE), status=74) == (
        f"backup {BACKUP} cannot be restored: its first WAL segment {SEGMENT} is not in {SOURCE}"
        f" (Archive '{SEGMENT}' does not exist.)"
    )
    assert line(classify_fetch(1, DESTINATION_EXISTS)) == (
        f"could not check that the configured encryption key decrypts backup {BACKUP}:"
        f" wal-g wal-fetch {SEGMENT} failed with status 1: open /tmp/encexp/seg: file exists"
    )


def runtime(command: str, env: dict[str, str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgpitr_runtime", command],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), **env},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def check_env(status: int, **extra: str) -> dict[str, str]:
    return {
        names.PGPITR_KEY_CHECK_STATUS: str(status),
        names.PGPITR_KEY_CHECK_BACKUP: BACKUP,
        names.PGPITR_KEY_CHECK_SEGMENT: SEGMENT,
        names.WALG_S3_PREFIX: SOURCE,
        **extra,
    }


def test_key_check_command() -> None:
    passed = runtime("key-check", check_env(0, WALG_LIBSODIUM_KEY="k"), "")
    assert (passed.returncode, passed.stdout, passed.stderr) == (0, "", "")

    failed = runtime("key-check", check_env(1, WALG_PGP_KEY="k"), PGP_WRONG_KEY)
    assert failed.returncode == 1 and failed.stderr == ""
    assert failed.stdout == (
        f"the configured encryption key does not decrypt backup {BACKUP}:"
        " failed to init decrypt reader: openpgp: incorrect key\n"
    )
    unset = runtime("key-check", check_env(1), NO_KEY_LZ4)
    assert unset.returncode == 1 and "no key is configured" in unset.stdout

    bad = runtime("key-check", check_env(1) | {names.PGPITR_KEY_CHECK_STATUS: "x"}, "")
    assert bad.returncode == 2 and bad.stdout == "" and "must be an exit status" in bad.stderr


def test_the_restore_script_checks_the_key_before_fetching() -> None:
    script = (ROOT / "docker" / "bin" / names.RESTORE_SCRIPT).read_text()
    check = script.index("pgpitr_runtime key-check")
    assert f'"$(dirname "$PGDATA")/{names.RESTORE_KEY_CHECK_DIR}"' in script
    assert "WALG_DOWNLOAD_CONCURRENCY=1" in script, "a wal-fetch with prefetch would leave wal-g running"
    assert script.index('wal-fetch "$segment"') < check < script.index('backup-fetch "$PGDATA"')
