"""Plain (non-secret) environment of pgpitr's containers, shared by the Kubernetes
components and the local drill, so both run the image's scripts with the same input."""

import hashlib

from pgpitr.settings.backup import RetentionSettings
from pgpitr.settings.restore import RestoreSettings
from pgpitr_runtime import names
from pgpitr_runtime.backups import AUTO
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget

WAL_FETCH_COMMAND = f"{names.IMAGE_BIN_DIR}/{names.WAL_FETCH_SCRIPT}"
INITDB_ARGS = "--auth-local=peer --auth-host=scram-sha-256 --data-checksums"
"""initdb as the entrypoint runs it: no trust anywhere, and page checksums on."""
STOP_ARCHIVE_SECONDS = 90
"""How long a stopping server goes on archiving (docker/bin/pgpitr-pre-stop): with storage
answering, every segment is archived well within it; with storage down or hung, the
stop ends in time and the rest waits in pg_wal for the next start."""

STOP_GRACE_SECONDS = 150
"""How long a stop may take before the server is killed (the pod's termination grace
period). The image stops postgres with SIGINT (fast shutdown): a checkpoint, then the
archiver's last round. A wal-push begun just before the stop may run to its own limit
(120 s, PGPITR_WALG_SEGMENT_TIMEOUT in docker/bin/pgpitr-lib.sh); every later one ends
by STOP_ARCHIVE_SECONDS. Killed mid-shutdown, the server would need crash recovery on
its next start."""


def stop_environment() -> dict[str, str]:
    """What pgpitr-pre-stop reads besides PGDATA."""
    return {names.PGPITR_STOP_ARCHIVE_SECONDS: str(STOP_ARCHIVE_SECONDS)}


def retention_environment(retention: RetentionSettings) -> dict[str, str]:
    return {
        names.PGPITR_RETENTION_FULL_BACKUPS: str(retention.full_backups),
        names.PGPITR_RETENTION_DAYS: str(retention.days),
    }


def recovery_environment(
    target: RecoveryTarget,
    options: RecoveryOptions,
    backup: str = AUTO,
    wal_fetch_command: str = WAL_FETCH_COMMAND,
) -> dict[str, str]:
    """What pgpitr-restore reads: the target, the backup request and how to recover."""
    return {
        names.PGPITR_RECOVERY_TARGET_KIND: target.kind,
        names.PGPITR_RECOVERY_TARGET_VALUE: target.value or "",
        names.PGPITR_RECOVERY_BACKUP: backup,
        names.PGPITR_RECOVERY_INCLUSIVE: "true" if options.inclusive else "false",
        names.PGPITR_RECOVERY_TIMELINE: options.timeline,
        names.PGPITR_RECOVERY_ACTION: options.action,
        names.PGPITR_WAL_FETCH_COMMAND: wal_fetch_command,
    }


def restore_settings_environment(restore: RestoreSettings) -> dict[str, str]:
    if restore.target is None:
        raise ValueError("restore.target is not set")
    return recovery_environment(restore.target.to_target(), restore.options, restore.backup)


def role_names_environment() -> dict[str, str]:
    """The role names the initdb script creates and the backup job logs in as."""
    return {names.PGPITR_BACKUP_ROLE: names.BACKUP_ROLE, names.PGPITR_MONITOR_ROLE: names.MONITOR_ROLE}


def restore_target_summary(target: RecoveryTarget, backup: str, options: RecoveryOptions | None = None) -> str:
    """What a restored copy is made for: its pod's annotation, and what names its volume
    claim and its archive. Every setting that changes what the copy holds is in it; the
    options only where they differ from PostgreSQL's defaults, so a copy made before they
    were part of it keeps its name."""
    summary = f"{target.kind}={target.value or 'true'} backup={backup}"
    default = RecoveryOptions()
    options = options or default
    if options.inclusive != default.inclusive:
        summary += f" inclusive={'true' if options.inclusive else 'false'}"
    if options.timeline != default.timeline:
        summary += f" timeline={options.timeline}"
    if options.action != default.action:
        summary += f" action={options.action}"
    return summary


def restore_digest(summary: str) -> str:
    """Names what one target made (restore_target_summary): a new target gets a new,
    empty volume, a new restore, and an archive of its own."""
    return hashlib.sha256(summary.encode()).hexdigest()[:8]


def restored_archive_path(name: str, summary: str) -> str:
    """Where a restored copy with `restore.archive` archives, under its own name: a copy
    promotes onto a new timeline, so each target's copy gets its own archive, and a
    second target never meets the first one's timeline history files."""
    return f"{name}/{restore_digest(summary)}"
