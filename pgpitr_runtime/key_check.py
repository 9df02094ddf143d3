"""Does the configured key read the backup? pgpitr-restore fetches one small object of
the backup (its first WAL segment) with `wal-g wal-fetch` before `backup-fetch`, which
retries a part it cannot decrypt for many minutes (WAL-G's internal/extract.go sleeps 1,
2, 4, 5... minutes between rounds) instead of failing. This module turns that fetch's
exit status and stderr into a verdict and one line for the log.

The patterns are WAL-G v3.0.9's own messages, as measured against the drill's storage
(tests/unit/test_key_check.py has them verbatim):

- libsodium, wrong key: `corrupted chunk`; key not base64 or not 32 bytes:
  `failed to init decrypt reader: libsodium Crypter: during key transform: ...`
- PGP, wrong key or protected key without its passphrase: `failed to init decrypt
  reader: openpgp: incorrect key`; wrong passphrase: `... openpgp: invalid data: private
  key checksum failure`; not a key: `... openpgp: invalid argument: no armored data
  found`; truncated: `... unexpected EOF`; a public key with a passphrase set: a panic in
  WAL-G's openpgp.decryptSecretKey (exit 2)
- no key, encrypted data: the decompressor rejects the ciphertext: `lz4: bad magic
  number`, zstd `invalid input: magic number mismatch`, `cbrotli: ...`, `lzma: ...`
- not in storage: exit 74, `Archive '...' does not exist.`
- storage down or refusing: `... RequestError: send request failed`, `connection
  refused`, `status code: 403`...; or pgpitr_walg's time limit (exit 124 or 137)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from pgpitr_runtime import names

Kind = Literal["ok", "key", "storage", "missing", "other"]

TIMEOUT_STATUSES: Final = (124, 137)
"""`timeout` (pgpitr_walg) ended the call: 124 after SIGTERM, 137 after SIGKILL."""
MAX_REASON = 400

# Checked first: a network failure while reading the object's first bytes can surface
# inside a decryption error ("failed to init decrypt reader: read tcp ...").
_STORAGE = re.compile(
    r"RequestError|send request failed|status code: \d{3}|connection (refused|reset)|dial tcp|read tcp"
    r"|no such host|i/o timeout|TLS handshake|context deadline exceeded|did not finish within"
    r"|NoSuchBucket|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|Failed to configure",
    re.IGNORECASE,
)
_KEY = re.compile(
    r"corrupted chunk"  # libsodium: a chunk does not authenticate under this key
    r"|failed to init decrypt reader"  # libsodium or PGP: the key (or the object's PGP header) is unusable
    r"|can't configure crypter|libsodium crypter|openpgp"
    r"|lz4: bad magic number|magic number mismatch|cbrotli:|brotli:|lzma:|xz:",  # ciphertext, no key
    re.IGNORECASE,
)
_LOG_LINE = re.compile(r"^(?:(?:ERROR|WARNING|INFO|DEBUG): \d{4}/\d\d/\d\d |\d{4}-\d\d-\d\dT)")
"""Where a new log line starts: WAL-G's `LEVEL: 2006/01/02 15:04:05.000000 ` or pgpitr_log's."""
_ERROR = re.compile(r"\bERROR: (?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? )?")


@dataclass(frozen=True)
class FetchVerdict:
    kind: Kind
    reason: str
    """WAL-G's own words, on one line."""


def walg_reason(stderr: str) -> str:
    """The last error WAL-G printed, on one line (see last_error), at most MAX_REASON long."""
    return _clip(last_error(stderr))


def last_error(stderr: str) -> str:
    """The last error WAL-G printed, on one line: its `ERROR:` line without the time
    stamp, with the lines that continue it ("caused by: ...", "\\tstatus code: ..."); a
    panic's first line; else the last line. Earlier lines (retries that succeeded) are
    not part of it."""
    lines = [line.strip() for line in stderr.splitlines()]
    panic = next((line for line in lines if line.startswith("panic: ")), None)
    if panic is not None:
        return panic
    errors = [index for index, line in enumerate(lines) if _ERROR.search(line)]
    if not errors:
        rest = [line for line in lines if line]
        return rest[-1] if rest else "no output"
    start = errors[-1]
    found = _ERROR.search(lines[start])
    assert found is not None
    parts = [lines[start][found.end() :]]
    for line in lines[start + 1 :]:
        if _LOG_LINE.match(line):
            break
        parts.append(line)
    return "; ".join(part for part in parts if part)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def classify_fetch(status: int, stderr: str) -> FetchVerdict:
    """What a `wal-g wal-fetch` of an object of the backup says about the key."""
    error = last_error(stderr)
    reason = _clip(error)
    if status == 0:
        return FetchVerdict("ok", "")
    if status == names.WAL_FETCH_NOT_FOUND_EXIT:
        return FetchVerdict("missing", reason)
    if status in TIMEOUT_STATUSES:
        return FetchVerdict("storage", reason if "did not finish" in reason else "wal-g ran out of time")
    if stderr.lstrip().startswith("panic: ") or "\npanic: " in stderr:
        # WAL-G v3.0.9 dereferences a missing private key when a passphrase is set.
        if "openpgp" in stderr:
            return FetchVerdict("key", f"{reason} (WAL-G crashed reading the PGP key: is it a public key only?)")
        return FetchVerdict("other", reason)
    if _STORAGE.search(error):
        return FetchVerdict("storage", reason)
    if _KEY.search(error):
        return FetchVerdict("key", reason)
    return FetchVerdict("other", reason)


def key_configured(env: Mapping[str, str]) -> bool:
    keys = (names.WALG_LIBSODIUM_KEY, names.WALG_LIBSODIUM_KEY_PATH, names.WALG_PGP_KEY, names.WALG_PGP_KEY_PATH)
    return any(env.get(name) for name in keys)


def problem_line(
    verdict: FetchVerdict, status: int, backup: str, segment: str, source: str, has_key: bool
) -> str | None:
    """The one line pgpitr-restore dies with, or None when the key reads the backup."""
    where = f" in {source}" if source else ""
    if verdict.kind == "ok":
        return None
    if verdict.kind == "key":
        if has_key:
            return f"the configured encryption key does not decrypt backup {backup}: {verdict.reason}"
        return (
            f"the configured encryption key does not decrypt backup {backup}: no key is configured"
            f" ({names.WALG_LIBSODIUM_KEY} and {names.WALG_PGP_KEY} are unset) and WAL-G cannot read"
            f" the backup without one: {verdict.reason}"
        )
    if verdict.kind == "storage":
        return (
            f"storage failure: could not read WAL segment {segment} of backup {backup}{where}"
            f" to check the encryption key: {verdict.reason}"
        )
    if verdict.kind == "missing":
        return (
            f"backup {backup} cannot be restored: its first WAL segment {segment} is not{where or ' in storage'}"
            f" ({verdict.reason})"
        )
    return (
        f"could not check that the configured encryption key decrypts backup {backup}:"
        f" wal-g wal-fetch {segment} failed with status {status}: {verdict.reason}"
    )
