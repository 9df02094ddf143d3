"""Client-side encryption keys for the drill, in the form components.backup_encryption
delivers them: a libsodium key as base64 (what pgpitr generates into its Secret) and a
PGP key as an armored private key, optionally protected by a passphrase (what a user
puts under `pgp-key` and `pgp-passphrase` of backup.encryption.existingSecret)."""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from drill.state import DrillState
from harness.processes import HarnessError
from pgpitr.settings.backup import BackupSettings
from pgpitr_runtime import names

LIBSODIUM_KEY_BYTES = 32
PGP_USER_ID = "pgpitr drill <drill@pgpitr.invalid>"
PGP_ALGORITHM = "future-default"
"""gpg's name for ed25519 (signing) with a cv25519 subkey (encryption): made in
milliseconds, where RSA 3072 takes seconds; WAL-G's OpenPGP library reads both."""


def libsodium_key() -> str:
    """A new 32-byte key, base64 (WALG_LIBSODIUM_KEY with WALG_LIBSODIUM_KEY_TRANSFORM=base64)."""
    return base64.b64encode(secrets.token_bytes(LIBSODIUM_KEY_BYTES)).decode()


def pgp_key(passphrase: str = "") -> str:
    """A new armored PGP private key (WALG_PGP_KEY), protected by `passphrase` when it is
    not empty (WALG_PGP_KEY_PASSPHRASE), made by `gpg --batch` in a throwaway home."""
    gpg = shutil.which("gpg")
    if gpg is None:
        raise HarnessError("a PGP-encrypted drill needs gpg; run `make setup` (Debian package gnupg)")
    home = tempfile.mkdtemp(prefix="pgpitr-gpg-")
    # From a file, not as an argument: a passphrase that starts with '-' would be taken
    # for an option (token_urlsafe makes one in 64).
    passphrase_file = Path(home) / "passphrase"
    passphrase_file.write_text(passphrase + "\n")
    passphrase_file.chmod(0o600)
    protection = ["--passphrase-file", str(passphrase_file)]
    common = [gpg, "--homedir", home, "--batch", "--pinentry-mode", "loopback", *protection]
    try:
        generate = subprocess.run(
            [*common, "--quick-generate-key", PGP_USER_ID, PGP_ALGORITHM, "default", "never"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if generate.returncode != 0:
            raise HarnessError(f"gpg could not generate a key: {last_line(generate.stderr)}")
        export = subprocess.run(
            [*common, "--armor", "--export-secret-keys"], capture_output=True, text=True, timeout=60
        )
        if export.returncode != 0 or "PRIVATE KEY BLOCK" not in export.stdout:
            raise HarnessError(f"gpg could not export the key: {last_line(export.stderr)}")
        return export.stdout
    finally:
        # gpg started an agent for this home; it must not outlive the key's creation.
        gpgconf = shutil.which("gpgconf")
        if gpgconf is not None:
            subprocess.run([gpgconf, "--homedir", home, "--kill", "gpg-agent"], capture_output=True, timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def last_line(text: str) -> str:
    return (text.strip().splitlines() or ["no output"])[-1]


def current_key_files(state: DrillState, method: str) -> dict[str, str]:
    """The current key as its Secret holds it (the files a retired key's Secret mounts as)."""
    if method == "libsodium":
        return {names.LIBSODIUM_KEY_FILE: state.libsodium_key}
    passphrase = {names.PGP_PASSPHRASE_FILE: state.pgp_passphrase} if state.pgp_passphrase else {}
    return {names.PGP_KEY_FILE: state.pgp_key, **passphrase}


def set_current_key(state: DrillState, backup: BackupSettings) -> None:
    """The key of `backup`'s Secret: back from the retired ones when the stack points at
    one of them again, else a new one, as a user would put in a new Secret."""
    state.libsodium_key = state.pgp_key = state.pgp_passphrase = ""
    if backup.encryption is None or backup.encryption_secret is None:
        return
    files = state.retired_keys.pop(backup.encryption_secret, None)
    if backup.encryption.method == "libsodium":
        state.libsodium_key = files[names.LIBSODIUM_KEY_FILE] if files else libsodium_key()
    elif files:
        state.pgp_key, state.pgp_passphrase = files[names.PGP_KEY_FILE], files.get(names.PGP_PASSPHRASE_FILE, "")
    else:
        state.pgp_passphrase = secrets.token_urlsafe(18)
        state.pgp_key = pgp_key(state.pgp_passphrase)
