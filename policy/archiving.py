"""WAL archiving: the primary's postgresql.conf archives every WAL segment through WAL-G."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from pulumi_policy import ReportViolation, ResourceValidationArgs

if TYPE_CHECKING or __package__:  # policy.<module>, as the tests and mypy import it
    from .kubernetes_props import CONFIG_MAP_TYPE, PRIMARY_ROLE, ROLE_LABEL
    from .props import describe, lookup
else:  # a top-level module: Pulumi runs the pack with policy/ first on sys.path
    from kubernetes_props import CONFIG_MAP_TYPE, PRIMARY_ROLE, ROLE_LABEL
    from props import describe, lookup

POSTGRESQL_CONF_KEY: Final = "postgresql.conf"
ARCHIVE_MODE_ON: Final = frozenset({"on", "true", "yes", "1", "always"})
WALG_PUSH: Final = re.compile(r"(?:\bwal-g\s+wal-push|(?<![\w-])pgpitr-wal-push)\b")
"""pgpitr's bounded wrapper (the shipped archive_command), or WAL-G itself."""
_SETTING_LINE: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*(.*)")
_BARE_VALUE: Final = re.compile(r"[^\s#]+")


def parse_conf_value(text: str) -> str | None:
    """The value at the start of `text`: a quoted string ('' and \\ escapes) or a bare
    word up to whitespace or `#`; None when there is none or the quote is unterminated."""
    if not text.startswith("'"):
        bare = _BARE_VALUE.match(text)
        return bare.group(0) if bare else None
    chars: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            chars.append(text[index + 1])
            index += 2
        elif char == "'" and text[index + 1 : index + 2] == "'":
            chars.append("'")
            index += 2
        elif char == "'":
            return "".join(chars)
        else:
            chars.append(char)
            index += 1
    return None


def parse_postgresql_conf(text: str) -> dict[str, str]:
    """name -> value (unquoted) of `name = value` lines; comments ignored, names
    case-insensitive, the last occurrence wins, as PostgreSQL reads the file."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        match = _SETTING_LINE.fullmatch(stripped) if stripped and not stripped.startswith("#") else None
        value = parse_conf_value(match.group(2)) if match else None
        if match and value is not None:
            settings[match.group(1).lower()] = value
    return settings


def archiving_findings(settings: Mapping[str, str]) -> list[str]:
    """What keeps postgresql.conf from archiving every WAL segment through WAL-G."""
    findings: list[str] = []
    mode = settings.get("archive_mode")
    if mode is None or mode.lower() not in ARCHIVE_MODE_ON:
        state = "is not set (off)" if mode is None else f"is {mode!r}"
        findings.append(f"archive_mode {state}; set archive_mode = 'on'")
    command = settings.get("archive_command")
    if command is None or not WALG_PUSH.search(command):
        state = "is not set" if command is None else f"is {command!r}"
        findings.append(f"archive_command {state}; set archive_command = 'pgpitr-wal-push \"%p\"'")
    library = settings.get("archive_library")
    if library:
        findings.append(f"archive_library is {library!r}, which replaces archive_command; remove it")
    return findings


def validate_archiving(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """The primary's postgresql.conf archives WAL with `wal-g wal-push`: without it there
    is no point-in-time recovery."""
    if args.resource_type != CONFIG_MAP_TYPE or lookup(args.props, "metadata", "labels", ROLE_LABEL) != PRIMARY_ROLE:
        return
    conf = lookup(args.props, "data", POSTGRESQL_CONF_KEY)
    if not isinstance(conf, str):
        return
    for finding in archiving_findings(parse_postgresql_conf(conf)):
        report_violation(f"{describe(args)}: {POSTGRESQL_CONF_KEY}: {finding}.", args.urn)
