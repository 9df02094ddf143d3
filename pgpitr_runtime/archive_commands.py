"""The `python3 -m pgpitr_runtime archive-*` commands: the decisions the scripts need about
an archive's locations (pgpitr_runtime.archive), with the scripts doing the storage I/O.

Input: PGPITR_ARCHIVE (or PGPITR_SOURCE_ARCHIVE for a restore), the configured
encryption (PGPITR_ENCRYPTION_METHOD/_SECRET), PGPITR_KEYS_DIR, and the manifest as
`wal-g st cat` printed it on stdin (empty when the archive has none). Settings for a
location come out as lines a script `eval`s (quoted by shlex); a script takes the
settings of one location per process, or per subshell.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from pgpitr_runtime import names
from pgpitr_runtime.archive import (
    ArchiveError,
    Encryption,
    FirstLocation,
    Manifest,
    current_location,
    location_env,
    now_text,
    read_manifest,
    render_env,
    settle,
)
from pgpitr_runtime.backups import Backup, choose_across, parse_backup_list
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget, check_action_applies
from pgpitr_runtime.retention import RetentionPolicy, evaluation_time, plan_archive_retention

CURRENT_ENV: str = "current.env"
"""In the archive state folder: the settings wal-push archives with."""
PENDING_MANIFEST: str = "manifest.pending.json"
"""In the archive state folder: a manifest to write back to storage."""
SETTLED_MARK: str = "# settled: "


def _require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ArchiveError(f"{name} is not set")
    return value


def _archive(env: Mapping[str, str], source: bool = False) -> str:
    return _require(env, names.PGPITR_SOURCE_ARCHIVE if source else names.PGPITR_ARCHIVE)


def _keys_dir(env: Mapping[str, str]) -> str:
    return env.get(names.PGPITR_KEYS_DIR) or names.IMAGE_KEYS_DIR


def _state_dir(env: Mapping[str, str]) -> Path:
    return Path(_require(env, names.PGPITR_ARCHIVE_STATE_DIR))


def _manifest(env: Mapping[str, str], source: bool = False) -> tuple[Manifest, bool]:
    """The manifest on stdin (or the legacy one), and whether there was one."""
    text = sys.stdin.read()
    archive = _archive(env, source)
    return read_manifest(text, archive, Encryption.from_env(env)), bool(text.strip())


def _listings(env: Mapping[str, str], manifest: Manifest) -> dict[int, list[Backup]]:
    """Each location's `backup-list` from PGPITR_LISTINGS_DIR/N.json (absent: none)."""
    folder = Path(_require(env, names.PGPITR_LISTINGS_DIR))
    listings = {}
    for location in manifest.locations:
        file = folder / f"{location.number}.json"
        listings[location.number] = parse_backup_list(file.read_text()) if file.exists() else []
    return listings


def _env_text(manifest: Manifest, number: int, env: Mapping[str, str], comment: str = "") -> str:
    location = manifest.location(number)
    return render_env(location_env(location, Encryption.from_env(env), _keys_dir(env)), comment).rstrip("\n")


def cmd_archive_numbers(env: Mapping[str, str]) -> str:
    """The location numbers of the archive (PGPITR_SOURCE_ARCHIVE when set), oldest first."""
    manifest, _ = _manifest(env, source=bool(env.get(names.PGPITR_SOURCE_ARCHIVE)))
    return " ".join(str(location.number) for location in manifest.locations)


def cmd_archive_env(env: Mapping[str, str], which: str) -> str:
    """`archive-env N`: the settings of location N of the archive (PGPITR_SOURCE_ARCHIVE
    when set); `archive-env current`: of the location the primary archives to, which a job
    must find written with its own settings."""
    source = bool(env.get(names.PGPITR_SOURCE_ARCHIVE))
    manifest, found = _manifest(env, source=source)
    if which == "current":
        location = current_location(manifest, Encryption.from_env(env), found)
        return _env_text(manifest, location.number, env, location.describe())
    if not which.isdigit():
        raise ArchiveError(f"archive-env takes a location number or 'current', not {which!r}")
    return _env_text(manifest, int(which), env, manifest.location(int(which)).describe())


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").lower() == "true"


def cmd_archive_owner(env: Mapping[str, str]) -> str:
    """The system identifier of the database whose archive this is (manifest on stdin)."""
    manifest, found = _manifest(env)
    current_location(manifest, Encryption.from_env(env), found)
    return manifest.system_identifier


def cmd_archive_settle(env: Mapping[str, str]) -> str:
    """Where the database PGPITR_SYSTEM_IDENTIFIER archives; the manifest on stdin. For an
    archive without one, what its first location holds: its backups in
    PGPITR_LISTINGS_DIR/1.json, PGPITR_FIRST_LOCATION_USED and _READABLE. Writes
    current.env.new (and manifest.pending.json when the manifest changes) into
    PGPITR_ARCHIVE_STATE_DIR; prints the location. Refuses another database's archive."""
    archive = _archive(env)
    encryption = Encryption.from_env(env)
    text = sys.stdin.read()
    manifest = Manifest.from_json(text, archive) if text.strip() else None
    first = None
    if manifest is None:
        listing = Path(env.get(names.PGPITR_LISTINGS_DIR, "")) / "1.json"
        backups = (
            parse_backup_list(listing.read_text()) if env.get(names.PGPITR_LISTINGS_DIR) and listing.exists() else []
        )
        first = FirstLocation(
            system_identifiers=frozenset(b.system_identifier for b in backups if b.system_identifier),
            used=bool(backups) or _flag(env, names.PGPITR_FIRST_LOCATION_USED),
            readable=_flag(env, names.PGPITR_FIRST_LOCATION_READABLE),
        )
    settled = settle(manifest, archive, encryption, _require(env, names.PGPITR_SYSTEM_IDENTIFIER), first, now_text())
    state = _state_dir(env)
    state.mkdir(parents=True, exist_ok=True)
    if settled.changed:
        (state / PENDING_MANIFEST).write_text(settled.manifest.to_json())
    env_text = render_env(
        location_env(settled.location, encryption, _keys_dir(env)), f"archiving into {settled.location.describe()}"
    )
    (state / f"{CURRENT_ENV}.new").write_text(env_text)
    opened = (manifest is not None and settled.changed) or (first is not None and not first.used)
    return f"{settled.location.number} {'opened' if opened else 'existing'} {settled.location.describe()}"


def cmd_archive_choose(env: Mapping[str, str]) -> str:
    """The backup a restore fetches, over every location of PGPITR_SOURCE_ARCHIVE, and the
    locations its WAL comes from (that one and every later one, in order: WAL of the
    moments between a location's opening and its first backup is in the one it follows).
    Writes fetch-1.env, fetch-2.env... into PGPITR_ARCHIVE_STATE_DIR; prints
    `BACKUP START_SEGMENT` of the backup and the location on stderr."""
    manifest, _ = _manifest(env, source=True)
    target = RecoveryTarget.parse(
        _require(env, names.PGPITR_RECOVERY_TARGET_KIND), env.get(names.PGPITR_RECOVERY_TARGET_VALUE)
    )
    check_action_applies(target, RecoveryOptions(action=env.get(names.PGPITR_RECOVERY_ACTION) or "promote"))  # type: ignore[arg-type]
    number, backup = choose_across(_listings(env, manifest), target, env.get(names.PGPITR_RECOVERY_BACKUP) or "auto")
    state = _state_dir(env)
    state.mkdir(parents=True, exist_ok=True)
    for old in state.glob("fetch-*.env"):
        old.unlink()
    chain = [location for location in manifest.locations if location.number >= number]
    for index, location in enumerate(chain, start=1):
        (state / f"fetch-{index}.env").write_text(
            _env_text(manifest, location.number, env, f"WAL source {index}: {location.describe()}") + "\n"
        )
    location = manifest.location(number)
    print(f"pgpitr: {backup.name} is in {location.describe()}", file=sys.stderr)
    if not location.known:
        raise ArchiveError(
            f"backup {backup.name} is in {location.describe()}: it was written before the archive had a"
            " manifest, with other settings than the ones configured now; configure those to restore it"
        )
    return f"{backup.name} {backup.start_segment}"


def cmd_archive_retention(env: Mapping[str, str]) -> str:
    """Retention over every location: lines `N ARGS...` for `wal-g delete ARGS` in
    location N; the reason on stderr."""
    manifest, _ = _manifest(env)
    policy = RetentionPolicy(
        full_backups=int(_require(env, names.PGPITR_RETENTION_FULL_BACKUPS)),
        days=int(_require(env, names.PGPITR_RETENTION_DAYS)),
    )
    plan, deletions = plan_archive_retention(_listings(env, manifest), policy, evaluation_time(env))
    kept = plan.keep_from.name if plan.keep_from else "all"
    print(f"retention: keeping {kept} and newer ({plan.reason})", file=sys.stderr)
    for deletion in deletions:
        print(f"retention: location {deletion.location}: {deletion.reason}", file=sys.stderr)
    return "\n".join(f"{deletion.location} {' '.join(deletion.args)}" for deletion in deletions)


def cmd_archive_empty_volume(env: Mapping[str, str]) -> str:
    """An empty data volume: `initdb` when the archive (its manifest on stdin; without one,
    PGPITR_FIRST_LOCATION_USED) is unused, `restore` when it holds a database, which
    storage.emptyVolume refuse refuses."""
    archive = _archive(env)
    text = sys.stdin.read()
    owner = Manifest.from_json(text, archive).system_identifier if text.strip() else ""
    if not text.strip() and not _flag(env, names.PGPITR_FIRST_LOCATION_USED):
        return "initdb"
    policy = env.get(names.PGPITR_EMPTY_VOLUME) or "restore"
    whose = f"the archive of database {owner}" if owner else "an archive"
    if policy == "refuse":
        raise ArchiveError(
            f"the data volume is empty and {archive} holds {whose}: not starting an empty database over it"
            " (storage.emptyVolume is refuse). To bring the database back from the archive, set"
            " storage.emptyVolume restore; to start a new database, give the stack an archive of its own"
        )
    if policy != "restore":
        raise ArchiveError(f"{names.PGPITR_EMPTY_VOLUME} must be restore or refuse, got {policy!r}")
    return "restore"


def cmd_backup_needed(env: Mapping[str, str]) -> str:
    """For the catch-up job: `yes` when the current location's backups (stdin, `backup-list
    --detail --json`) have none on the primary's timeline PGPITR_PRIMARY_TIMELINE (a new
    location, a first deploy, a promotion after a restore), else `no`; the reason follows."""
    timeline = int(_require(env, names.PGPITR_PRIMARY_TIMELINE))
    backups = parse_backup_list(sys.stdin.read())
    on_timeline = [b for b in backups if int(b.start_segment[:8], 16) >= timeline]
    if on_timeline:
        return f"no: {on_timeline[-1].name} is a backup of timeline {timeline}"
    if backups:
        return f"yes: the newest backup, {backups[-1].name}, is of an earlier timeline than {timeline}"
    return "yes: this location has no base backup yet"


COMMANDS = {
    "archive-numbers": cmd_archive_numbers,
    "archive-owner": cmd_archive_owner,
    "archive-settle": cmd_archive_settle,
    "archive-choose": cmd_archive_choose,
    "archive-retention": cmd_archive_retention,
    "archive-empty-volume": cmd_archive_empty_volume,
    "backup-needed": cmd_backup_needed,
}
COMMANDS_WITH_ARGUMENT = {"archive-env": cmd_archive_env}
