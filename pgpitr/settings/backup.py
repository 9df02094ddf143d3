"""Settings of the scheduled base backups and their retention."""

import re
import zoneinfo
from typing import Annotated, Literal, Self

from croniter import croniter
from pydantic import AfterValidator, Field, field_validator, model_validator

from pgpitr.kubernetes_names import ENCRYPTION_SECRET
from pgpitr.settings.base import SettingsModel

Compression = Literal["lz4", "zstd", "brotli", "lzma"]
_CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


def check_schedule(value: str) -> str:
    """A Kubernetes CronJob schedule: five cron fields or a macro such as @daily."""
    text = value.strip()
    if text in _CRON_MACROS:
        return text
    if "TZ=" in text:
        raise ValueError("put the time zone in timeZone, not in the schedule")
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise ValueError(f"{value!r} is not a cron schedule (five fields, e.g. '0 2 * * *')")
    return text


CronSchedule = Annotated[str, AfterValidator(check_schedule)]
"""A Kubernetes CronJob schedule, validated by check_schedule."""


def check_time_zone(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Etc/UTC, Europe/Berlin)")
    return value


class RetentionSettings(SettingsModel):
    """Keep at least `fullBackups` full backups and everything needed to recover to any
    point of the last `days` days."""

    full_backups: int = Field(7, ge=1, le=1000)
    days: int = Field(30, ge=1, le=3650)


def check_encryption_secret_name(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", value):
        raise ValueError(f"{value!r} is not a Kubernetes Secret name")
    return value


class EncryptionSettings(SettingsModel):
    """Client-side encryption of everything WAL-G uploads, on top of the store's own
    encryption (SSE-KMS on AWS; whatever an S3-compatible store does, if anything).

    `libsodium` without `existingSecret`: pgpitr generates a 32-byte key (a Pulumi secret)
    into Secret postgres-backup-encryption. With `existingSecret`, that Secret must hold
    `libsodium-key` (32 bytes, base64) or, for `pgp`, `pgp-key` (an armored private key)
    and optionally `pgp-passphrase`.
    """

    method: Literal["libsodium", "pgp"]
    existing_secret: str | None = None

    @field_validator("existing_secret")
    @classmethod
    def _secret_name(cls, value: str | None) -> str | None:
        return None if value is None else check_encryption_secret_name(value)

    @model_validator(mode="after")
    def _pgp_needs_a_key(self) -> Self:
        if self.method == "pgp" and self.existing_secret is None:
            raise ValueError(
                "existingSecret: is required for method pgp; pgpitr generates only libsodium keys"
                " (create a Secret with key pgp-key holding the armored private key)"
            )
        return self


class BackupSettings(SettingsModel):
    schedule: CronSchedule = "0 2 * * *"
    time_zone: str = "Etc/UTC"
    retention: RetentionSettings = RetentionSettings()
    compression: Compression = "lz4"
    delta_max_steps: int = Field(0, ge=0, le=0)
    encryption: EncryptionSettings | None = None
    retired_encryption_secrets: list[str] = Field(default_factory=list)
    """Secrets holding keys the archive was encrypted with before: a change of the key (a
    new `existingSecret`), of the method, or turning encryption off starts a new archive
    location, and the older locations stay readable with these keys (mounted read-only).
    Keep one listed until retention has removed everything it encrypted. The generated
    key's Secret is postgres-backup-encryption."""

    @field_validator("retired_encryption_secrets")
    @classmethod
    def _retired_secret_names(cls, value: list[str]) -> list[str]:
        for name in value:
            check_encryption_secret_name(name)
        if len(set(value)) != len(value):
            raise ValueError("names a Secret twice")
        return value

    @model_validator(mode="after")
    def _current_key_is_not_retired(self) -> Self:
        current = self.encryption_secret
        if current is not None and current in self.retired_encryption_secrets:
            raise ValueError(
                f"retiredEncryptionSecrets: {current} holds the current key (backup.encryption); a retired key"
                " is one the archive is no longer written with"
            )
        return self

    @property
    def encryption_secret(self) -> str | None:
        """The Secret the current key comes from (the generated one's, or existingSecret)."""
        if self.encryption is None:
            return None
        return self.encryption.existing_secret or ENCRYPTION_SECRET

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        return check_time_zone(value)

    @field_validator("delta_max_steps", mode="before")
    @classmethod
    def _no_deltas(cls, value: object) -> object:
        if value not in (0, "0"):
            raise ValueError(
                "must be 0: pgpitr takes base backups in WAL-G's remote mode (over the"
                " replication protocol, from any node), which has no delta backups"
            )
        return value
