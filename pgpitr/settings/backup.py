"""Settings of the scheduled base backups and their retention."""

import re
import zoneinfo
from typing import Annotated, Literal, Self

from croniter import croniter
from pydantic import AfterValidator, Field, field_validator, model_validator

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
        if value is not None and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", value):
            raise ValueError(f"{value!r} is not a Kubernetes Secret name")
        return value

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
