"""postgresql.conf for the primary: archiving through WAL-G, owned by pgpitr, plus the
performance defaults and whatever the user adds."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pgpitr.parameters.check import restart_fingerprint
from pgpitr.parameters.values import Scalar
from pgpitr_runtime import names
from pgpitr_runtime.recovery import quote_setting

ARCHIVE_COMMAND: Final = f'{names.WAL_PUSH_SCRIPT} "%p"'
"""wal-g wal-push through pgpitr's wrapper, which bounds it in time (docker/bin)."""

OWNED_SETTINGS: Final = frozenset(
    {
        "wal_level",
        "archive_mode",
        "archive_command",
        "archive_library",
        "archive_timeout",
        "restore_command",
        "archive_cleanup_command",
        "recovery_target",
        "recovery_target_time",
        "recovery_target_xid",
        "recovery_target_lsn",
        "recovery_target_name",
        "recovery_target_inclusive",
        "recovery_target_timeline",
        "recovery_target_action",
        "config_file",
        "data_directory",
        "hba_file",
        "ident_file",
        "listen_addresses",
        "port",
        "unix_socket_directories",
    }
)
"""Parameters pgpitr sets itself; letting stack config override them breaks recovery."""

PERFORMANCE_DEFAULTS: Final[Mapping[str, str | int | float | bool]] = {
    # The article's settings, kept as defaults the user may override.
    "max_wal_senders": 3,
    "max_replication_slots": 3,
    "shared_buffers": "256MB",
    "max_connections": 200,
    "checkpoint_timeout": "15min",
    "checkpoint_completion_target": 0.9,
}


def literal(value: Scalar) -> str:
    """A postgresql.conf value: booleans as on/off, numbers bare, text quoted."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    return quote_setting(value)


def archiving_settings(archive_timeout_seconds: int, archive: bool = True) -> dict[str, Scalar]:
    """What continuous archiving needs; `archive=False` for a restored copy that must not archive."""
    settings: dict[str, Scalar] = {"wal_level": "replica"}
    if archive:
        settings |= {
            "archive_mode": "on",
            "archive_command": ARCHIVE_COMMAND,
            "archive_timeout": f"{archive_timeout_seconds}s",
        }
    else:
        settings["archive_mode"] = "off"
    return settings


def conf_sections(
    archive_timeout_seconds: int,
    user_parameters: Mapping[str, Scalar],
    archive: bool = True,
) -> list[tuple[str, dict[str, Scalar]]]:
    """The file's sections, titled; user parameters may override the performance defaults only."""
    clash = sorted(OWNED_SETTINGS & set(user_parameters))
    if clash:
        raise ValueError(f"postgresql parameters {', '.join(clash)} are set by pgpitr")
    return [
        ("Continuous archiving through WAL-G (set by pgpitr)", archiving_settings(archive_timeout_seconds, archive)),
        ("Performance defaults", {k: v for k, v in PERFORMANCE_DEFAULTS.items() if k not in user_parameters}),
        ("From stack config `postgresql`", dict(user_parameters)),
    ]


def conf_settings(
    archive_timeout_seconds: int,
    user_parameters: Mapping[str, Scalar],
    archive: bool = True,
) -> dict[str, Scalar]:
    """Every parameter the file sets, with its value."""
    merged: dict[str, Scalar] = {}
    for _, settings in conf_sections(archive_timeout_seconds, user_parameters, archive):
        merged |= settings
    return merged


def render_postgresql_conf(
    archive_timeout_seconds: int,
    user_parameters: Mapping[str, Scalar],
    archive: bool = True,
) -> str:
    """The whole file."""
    lines: list[str] = []
    for title, settings in conf_sections(archive_timeout_seconds, user_parameters, archive):
        if settings:
            lines.append(f"# {title}")
            lines.extend(f"{name} = {literal(value)}" for name, value in sorted(settings.items()))
            lines.append("")
    return "\n".join(lines)


@dataclass(frozen=True)
class ServerConfig:
    """postgresql.conf and the digest of what in it only a restart applies: the pod is
    rolled when the digest changes; any other change reaches the server by a reload."""

    text: str
    restart_digest: str


def server_config(
    archive_timeout_seconds: int,
    user_parameters: Mapping[str, Scalar],
    postgres_major: int,
    archive: bool = True,
) -> ServerConfig:
    settings = conf_settings(archive_timeout_seconds, user_parameters, archive)
    return ServerConfig(
        render_postgresql_conf(archive_timeout_seconds, user_parameters, archive),
        restart_fingerprint(settings, postgres_major),
    )
