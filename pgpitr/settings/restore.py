"""Settings of the restored instance: which recovery target, from which backup, and how.

Validation reuses the parsers the restore script runs in the container
(pgpitr_runtime.recovery), so the program and the image can never disagree.
"""

import re
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from pgpitr.settings.base import SettingsModel
from pgpitr_runtime.backups import check_backup_request
from pgpitr_runtime.recovery import (
    RecoveryInputError,
    RecoveryOptions,
    RecoveryTarget,
    check_action_applies,
    parse_timeline,
)

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,50}[a-z0-9])?$")


class TargetSettings(SettingsModel):
    """Exactly one of the fields. `time` needs an explicit offset (2026-02-09T12:00:00Z)."""

    time: str | None = None
    xid: int | str | None = None
    lsn: str | None = None
    name: str | None = None
    latest: Literal[True] | None = None
    immediate: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [field for field in type(self).model_fields if getattr(self, field) is not None]
        if len(given) != 1:
            raise ValueError(
                "set exactly one of time, xid, lsn, name, latest, immediate"
                + (f" (got {', '.join(given)})" if given else "")
            )
        kind = given[0]
        value = getattr(self, kind)
        try:
            RecoveryTarget.parse(kind, None if value is True else str(value))
        except RecoveryInputError as error:
            raise ValueError(f"{kind}: {error}") from None
        return self

    @field_validator("xid", mode="before")
    @classmethod
    def _xid_whole_number(cls, value: object) -> object:
        if isinstance(value, bool | float):
            raise ValueError("must be a whole number")
        return value

    def to_target(self) -> RecoveryTarget:
        for kind in type(self).model_fields:
            value = getattr(self, kind)
            if value is not None:
                return RecoveryTarget.parse(kind, None if value is True else str(value))
        raise AssertionError("validated to hold one target")


class RestoreSettings(SettingsModel):
    enabled: bool = False
    target: TargetSettings | None = None
    backup: str = "auto"
    inclusive: bool = True
    timeline: str | int = "latest"
    action: Literal["promote", "pause", "shutdown"] = "promote"
    name: str = Field("postgres-restored")
    archive: bool = False
    ready_timeout_minutes: int = Field(30, ge=10, le=1440)
    """How long `pulumi up` waits for the copy to become Ready: its restore and its replay.
    Past it the `up` fails, naming the copy, while the restore goes on; raise it for a
    large database or a long replay. Not part of what the copy is made for: changing it
    restores nothing."""

    @field_validator("backup")
    @classmethod
    def _backup(cls, value: str) -> str:
        try:
            return check_backup_request(value)
        except RecoveryInputError as error:
            raise ValueError(str(error)) from None

    @field_validator("timeline")
    @classmethod
    def _timeline(cls, value: str | int) -> str:
        try:
            return parse_timeline(value)
        except RecoveryInputError as error:
            raise ValueError(str(error)) from None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes name (lowercase letters, digits, '-'; at most 52)")
        return value

    @model_validator(mode="after")
    def _target_when_enabled(self) -> Self:
        if self.enabled and self.target is None:
            raise ValueError("target: is required when restore.enabled is true")
        if self.target is not None:
            try:
                check_action_applies(self.target.to_target(), self.options)
            except RecoveryInputError as error:
                raise ValueError(f"action: {error}") from None
        return self

    @property
    def options(self) -> RecoveryOptions:
        return RecoveryOptions(inclusive=self.inclusive, timeline=str(self.timeline), action=self.action)
