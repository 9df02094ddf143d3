"""Recovery targets: parsing, validation and the PostgreSQL settings they become.

One target at a time, as PostgreSQL allows: a time (RFC 3339 with an explicit offset),
a transaction id, an LSN, a restore point name, `latest` (replay the whole archive) or
`immediate` (stop as soon as the base backup is consistent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

TargetKind = Literal["time", "xid", "lsn", "name", "latest", "immediate"]
TARGET_KINDS: Final[tuple[str, ...]] = get_args(TargetKind)
Action = Literal["promote", "pause", "shutdown"]
ACTIONS: Final[tuple[str, ...]] = get_args(Action)

_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
_TIMELINE = re.compile(r"^(latest|current|[1-9][0-9]{0,9})$")
FIRST_NORMAL_XID: Final = 3
MAX_XID8: Final = 2**63 - 1
MAX_RESTORE_POINT_NAME: Final = 63  # MAXFNAMELEN - 1


class RecoveryInputError(ValueError):
    """A recovery setting a user gave is not valid; the message names the fix."""


def parse_time(value: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset; a naive time is refused.

    PostgreSQL reads a time without offset in the server's `timezone`, which is how
    restores silently land hours away from where the user meant.
    """
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecoveryInputError(f"{value!r} is not an RFC 3339 time; write it like 2026-02-09T12:00:00Z") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RecoveryInputError(f"{value!r} has no timezone offset; add one, e.g. {value.strip()}Z or +02:00")
    return parsed


def parse_lsn(value: str) -> int:
    """A WAL location like `16/B374D848`, as the 64-bit integer WAL-G reports."""
    match = _LSN.match(value.strip())
    if not match:
        raise RecoveryInputError(f"{value!r} is not an LSN; write it like 16/B374D848")
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def parse_xid(value: str | int) -> int:
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]+", text):
        raise RecoveryInputError(f"{value!r} is not a transaction id (a whole number >= 3)")
    xid = int(text)
    if not FIRST_NORMAL_XID <= xid <= MAX_XID8:
        raise RecoveryInputError(f"{xid} is not a normal transaction id (3 to 2^63-1)")
    return xid


def parse_restore_point_name(value: str) -> str:
    if not value or len(value) > MAX_RESTORE_POINT_NAME:
        raise RecoveryInputError(f"restore point name must be 1 to {MAX_RESTORE_POINT_NAME} characters")
    if any(ord(ch) < 32 for ch in value):
        raise RecoveryInputError("restore point name must not contain control characters")
    return value


def parse_timeline(value: str | int) -> str:
    text = str(value).strip()
    if not _TIMELINE.match(text):
        raise RecoveryInputError(f"{value!r} is not a timeline: use latest, current or a number >= 1")
    return text


@dataclass(frozen=True)
class RecoveryTarget:
    """Exactly one recovery target; `value` is normalised text (None for latest/immediate)."""

    kind: TargetKind
    value: str | None = None

    @staticmethod
    def parse(kind: str, value: str | None) -> RecoveryTarget:
        if kind not in TARGET_KINDS:
            raise RecoveryInputError(f"unknown recovery target {kind!r}; use one of {', '.join(TARGET_KINDS)}")
        if kind in ("latest", "immediate"):
            if value not in (None, "", "true", "True"):
                raise RecoveryInputError(f"target {kind} takes no value, got {value!r}")
            return RecoveryTarget(kind)  # type: ignore[arg-type]
        if value is None or str(value).strip() == "":
            raise RecoveryInputError(f"target {kind} needs a value")
        normalised: str
        if kind == "time":
            normalised = parse_time(value).isoformat()
        elif kind == "xid":
            normalised = str(parse_xid(value))
        elif kind == "lsn":
            normalised = format_lsn(parse_lsn(value))
        else:
            normalised = parse_restore_point_name(value)
        return RecoveryTarget(kind, normalised)  # type: ignore[arg-type]

    @property
    def time(self) -> datetime:
        assert self.kind == "time" and self.value is not None
        return datetime.fromisoformat(self.value)

    @property
    def lsn(self) -> int:
        assert self.kind == "lsn" and self.value is not None
        return parse_lsn(self.value)


@dataclass(frozen=True)
class RecoveryOptions:
    """How recovery treats its target, with PostgreSQL's defaults."""

    inclusive: bool = True
    timeline: str = "latest"
    action: Action = "promote"

    def __post_init__(self) -> None:
        parse_timeline(self.timeline)
        if self.action not in ACTIONS:
            raise RecoveryInputError(f"unknown recovery action {self.action!r}; use one of {', '.join(ACTIONS)}")


def check_action_applies(target: RecoveryTarget, options: RecoveryOptions) -> None:
    """Without a target PostgreSQL replays to the end and promotes; other actions never apply."""
    if target.kind == "latest" and options.action != "promote":
        raise RecoveryInputError(
            "must be promote for target latest: PostgreSQL promotes at the end of the"
            " archive and ignores recovery_target_action"
        )


def quote_setting(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def recovery_settings(target: RecoveryTarget, options: RecoveryOptions, restore_command: str) -> dict[str, str]:
    """The postgresql.conf lines (name -> literal) that make PostgreSQL recover to `target`."""
    check_action_applies(target, options)
    settings = {"restore_command": quote_setting(restore_command)}
    if target.kind == "time":
        settings["recovery_target_time"] = quote_setting(target.time.isoformat(sep=" "))
    elif target.kind == "xid":
        settings["recovery_target_xid"] = quote_setting(str(target.value))
    elif target.kind == "lsn":
        settings["recovery_target_lsn"] = quote_setting(str(target.value))
    elif target.kind == "name":
        settings["recovery_target_name"] = quote_setting(str(target.value))
    elif target.kind == "immediate":
        settings["recovery_target"] = quote_setting("immediate")
    if target.kind in ("time", "xid", "lsn"):
        settings["recovery_target_inclusive"] = "on" if options.inclusive else "off"
    settings["recovery_target_timeline"] = quote_setting(options.timeline)
    if target.kind != "latest":
        settings["recovery_target_action"] = quote_setting(options.action)
    return settings


def render_settings(settings: dict[str, str]) -> str:
    return "".join(f"{name} = {literal}\n" for name, literal in settings.items())
