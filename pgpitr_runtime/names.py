"""Names shared by the image, the Kubernetes manifests and the local drill.

Every environment variable, path and role name that more than one of them uses is
defined here once. This module is stdlib-only because it ships inside the image.
"""

from typing import Final

# --- WAL-G and libpq settings (names defined by those tools) -----------------
WALG_S3_PREFIX: Final = "WALG_S3_PREFIX"
AWS_REGION: Final = "AWS_REGION"
AWS_ENDPOINT: Final = "AWS_ENDPOINT"
AWS_S3_FORCE_PATH_STYLE: Final = "AWS_S3_FORCE_PATH_STYLE"
AWS_ACCESS_KEY_ID: Final = "AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY: Final = "AWS_SECRET_ACCESS_KEY"
WALG_S3_SSE: Final = "WALG_S3_SSE"
WALG_S3_SSE_KMS_ID: Final = "WALG_S3_SSE_KMS_ID"
WALG_S3_CA_CERT_FILE: Final = "WALG_S3_CA_CERT_FILE"
WALG_COMPRESSION_METHOD: Final = "WALG_COMPRESSION_METHOD"
WALG_PREVENT_WAL_OVERWRITE: Final = "WALG_PREVENT_WAL_OVERWRITE"
WALG_DELTA_MAX_STEPS: Final = "WALG_DELTA_MAX_STEPS"
WALG_S3_MAX_RETRIES: Final = "WALG_S3_MAX_RETRIES"
WALG_DOWNLOAD_FILE_RETRIES: Final = "WALG_DOWNLOAD_FILE_RETRIES"
WALG_UPLOAD_CONCURRENCY: Final = "WALG_UPLOAD_CONCURRENCY"
WALG_DOWNLOAD_CONCURRENCY: Final = "WALG_DOWNLOAD_CONCURRENCY"
WALG_LIBSODIUM_KEY: Final = "WALG_LIBSODIUM_KEY"
WALG_LIBSODIUM_KEY_PATH: Final = "WALG_LIBSODIUM_KEY_PATH"
WALG_LIBSODIUM_KEY_TRANSFORM: Final = "WALG_LIBSODIUM_KEY_TRANSFORM"
WALG_PGP_KEY: Final = "WALG_PGP_KEY"
WALG_PGP_KEY_PATH: Final = "WALG_PGP_KEY_PATH"
WALG_PGP_KEY_PASSPHRASE: Final = "WALG_PGP_KEY_PASSPHRASE"
PGHOST: Final = "PGHOST"
PGPORT: Final = "PGPORT"
PGUSER: Final = "PGUSER"
PGPASSWORD: Final = "PGPASSWORD"
PGDATABASE: Final = "PGDATABASE"
PGDATA: Final = "PGDATA"

# --- The entrypoint's input (the names the official postgres image uses) ------
POSTGRES_USER: Final = "POSTGRES_USER"
POSTGRES_PASSWORD: Final = "POSTGRES_PASSWORD"
POSTGRES_INITDB_ARGS: Final = "POSTGRES_INITDB_ARGS"

# --- pgpitr's own settings, read by the scripts in docker/bin ----------------
PGPITR_TOOLS_DIR: Final = "PGPITR_TOOLS_DIR"
"""Where `make setup` keeps the tools it builds (WAL-G, actionlint); default .tools/."""
PGPITR_LIB: Final = "PGPITR_LIB"
"""Directory holding this package, so scripts can run `python3 -m pgpitr_runtime`."""
PGPITR_BACKUP_ROLE: Final = "PGPITR_BACKUP_ROLE"
PGPITR_BACKUP_PASSWORD: Final = "PGPITR_BACKUP_PASSWORD"
PGPITR_MONITOR_ROLE: Final = "PGPITR_MONITOR_ROLE"
PGPITR_MONITOR_PASSWORD: Final = "PGPITR_MONITOR_PASSWORD"
PGPITR_RETENTION_FULL_BACKUPS: Final = "PGPITR_RETENTION_FULL_BACKUPS"
PGPITR_RETENTION_DAYS: Final = "PGPITR_RETENTION_DAYS"
PGPITR_RETENTION_AS_OF: Final = "PGPITR_RETENTION_AS_OF"
"""Evaluate retention as of this RFC 3339 time instead of now (drills and tests)."""
PGPITR_ARCHIVE: Final = "PGPITR_ARCHIVE"
"""The instance's archive (s3://bucket/<stack>/<instance>): its first location, and the
name its manifest and later locations are found by (pgpitr_runtime.archive). Every
script resolves WALG_S3_PREFIX from it; the containers never get WALG_S3_PREFIX itself."""
PGPITR_SOURCE_ARCHIVE: Final = "PGPITR_SOURCE_ARCHIVE"
"""The archive a restore reads from; PGPITR_ARCHIVE is where the restored instance archives."""
PGPITR_ENCRYPTION_METHOD: Final = "PGPITR_ENCRYPTION_METHOD"
PGPITR_ENCRYPTION_KEY_SOURCE: Final = "PGPITR_ENCRYPTION_KEY_SOURCE"
"""The configured client-side encryption (libsodium or pgp, empty for none) and the Secret
its key comes from: what a location is written with."""
PGPITR_KEYS_DIR: Final = "PGPITR_KEYS_DIR"
"""Where the keys of backup.retiredEncryptionSecrets are mounted, one folder per Secret."""
PGPITR_PGP_PASSPHRASE_FILE: Final = "PGPITR_PGP_PASSPHRASE_FILE"
"""A retired PGP key's passphrase file; the scripts read it into WALG_PGP_KEY_PASSPHRASE."""
PGPITR_ARCHIVE_STATE_DIR: Final = "PGPITR_ARCHIVE_STATE_DIR"
"""Where `pgpitr_runtime archive-*` commands write what the scripts read back."""
PGPITR_LISTINGS_DIR: Final = "PGPITR_LISTINGS_DIR"
"""A folder of `wal-g backup-list --detail --json` outputs, one N.json per location."""
PGPITR_SYSTEM_IDENTIFIER: Final = "PGPITR_SYSTEM_IDENTIFIER"
"""The data directory's database system identifier (pg_controldata)."""
PGPITR_FIRST_LOCATION_USED: Final = "PGPITR_FIRST_LOCATION_USED"
PGPITR_FIRST_LOCATION_READABLE: Final = "PGPITR_FIRST_LOCATION_READABLE"
"""For an archive without a manifest (written by an earlier pgpitr): whether its first
location holds WAL or backups, and whether the configured settings read them."""
PGPITR_PRIMARY_TIMELINE: Final = "PGPITR_PRIMARY_TIMELINE"
"""The primary's current timeline (IDENTIFY_SYSTEM), for `pgpitr_runtime backup-needed`."""
PGPITR_POD_NAME: Final = "PGPITR_POD_NAME"
PGPITR_POD_UID: Final = "PGPITR_POD_UID"
"""The pod an Event is about (the downward API); pgpitr_runtime/kube_events.py."""
PGPITR_EVENT_REASON: Final = "PGPITR_EVENT_REASON"
PGPITR_EVENT_TYPE: Final = "PGPITR_EVENT_TYPE"
"""`pgpitr_runtime kube-event`: the Event's reason and type (Normal, Warning); its message on stdin."""
PGPITR_EMPTY_VOLUME: Final = "PGPITR_EMPTY_VOLUME"
"""storage.emptyVolume: `restore` (an empty volume over a used archive comes back from it)
or `refuse` (the pod does not start and says why)."""
PGPITR_BACKUP_WHEN_MISSING: Final = "PGPITR_BACKUP_WHEN_MISSING"
"""`true`: pgpitr-backup takes a backup only if the current location has none for the
primary's timeline (the catch-up job after a new location, a first deploy or a restore)."""
PGPITR_RECOVERY_TARGET_KIND: Final = "PGPITR_RECOVERY_TARGET_KIND"
PGPITR_RECOVERY_TARGET_VALUE: Final = "PGPITR_RECOVERY_TARGET_VALUE"
PGPITR_RECOVERY_BACKUP: Final = "PGPITR_RECOVERY_BACKUP"
PGPITR_RECOVERY_INCLUSIVE: Final = "PGPITR_RECOVERY_INCLUSIVE"
PGPITR_RECOVERY_TIMELINE: Final = "PGPITR_RECOVERY_TIMELINE"
PGPITR_RECOVERY_ACTION: Final = "PGPITR_RECOVERY_ACTION"
PGPITR_WAL_FETCH_COMMAND: Final = "PGPITR_WAL_FETCH_COMMAND"
PGPITR_VERIFY_SQL: Final = "PGPITR_VERIFY_SQL"
"""Optional query the restore drill runs on its copy; it must return true."""
PGPITR_WALG_SEGMENT_TIMEOUT: Final = "PGPITR_WALG_SEGMENT_TIMEOUT"
PGPITR_WALG_LIST_TIMEOUT: Final = "PGPITR_WALG_LIST_TIMEOUT"
PGPITR_WALG_MAINTENANCE_TIMEOUT: Final = "PGPITR_WALG_MAINTENANCE_TIMEOUT"
PGPITR_WALG_TRANSFER_TIMEOUT: Final = "PGPITR_WALG_TRANSFER_TIMEOUT"
"""Time limits (seconds) of WAL-G calls in docker/bin/pgpitr-lib.sh, where the defaults are."""
PGPITR_CONFIG_CHECK_SECONDS: Final = "PGPITR_CONFIG_CHECK_SECONDS"
"""How often pgpitr-config-reloader looks at postgresql.conf (default 5)."""
PGPITR_STOP_ARCHIVE_SECONDS: Final = "PGPITR_STOP_ARCHIVE_SECONDS"
"""How long a stopping server may go on archiving (pgpitr-pre-stop); then the rest waits."""
PGPITR_WALG_DAEMON_START_TIMEOUT: Final = "PGPITR_WALG_DAEMON_START_TIMEOUT"
"""Seconds pgpitr-wal-fetch waits for a WAL-G daemon it started to open its socket (10)."""
PGPITR_LAST_ARCHIVED_WAL: Final = "PGPITR_LAST_ARCHIVED_WAL"
"""The primary's pg_stat_archiver.last_archived_wal, for the WAL chain check: a segment
missing from storage that is older than it will never arrive."""
PGPITR_VERIFY_TIMEOUT: Final = "PGPITR_VERIFY_TIMEOUT"
"""Seconds the restore drill lets recovery take."""
PGPITR_KEY_CHECK_BACKUP: Final = "PGPITR_KEY_CHECK_BACKUP"
PGPITR_KEY_CHECK_SEGMENT: Final = "PGPITR_KEY_CHECK_SEGMENT"
PGPITR_KEY_CHECK_STATUS: Final = "PGPITR_KEY_CHECK_STATUS"
"""Set by pgpitr-restore for `pgpitr_runtime key-check` (pgpitr_runtime/key_check.py): the
backup, the WAL segment of it that was fetched, and wal-g's exit status (its stderr on stdin)."""
"""Path of the wal-fetch wrapper written into restore_command."""

# --- Roles created in every cluster -------------------------------------------
SUPERUSER_ROLE: Final = "postgres"
BACKUP_ROLE: Final = "pgpitr_backup"
MONITOR_ROLE: Final = "pgpitr_monitor"

# --- Paths inside the image ----------------------------------------------------
IMAGE_BIN_DIR: Final = "/usr/local/bin"
IMAGE_LIB_DIR: Final = "/usr/local/lib/pgpitr"
IMAGE_CONFIG_DIR: Final = "/etc/postgresql"
IMAGE_DATA_MOUNT: Final = "/var/lib/postgresql/data"
IMAGE_PGDATA: Final = "/var/lib/postgresql/data/pgdata"
IMAGE_SOCKET_DIR: Final = "/var/run/postgresql"
POSTGRES_UID: Final = 999
"""uid and gid of the postgres user in the official Debian-based image."""

POSTGRESQL_CONF_FILE: Final = "postgresql.conf"

# Scripts in docker/bin, installed under IMAGE_BIN_DIR with these names.
BACKUP_SCRIPT: Final = "pgpitr-backup"
RESTORE_SCRIPT: Final = "pgpitr-restore"
WAL_FETCH_SCRIPT: Final = "pgpitr-wal-fetch"
WAL_PUSH_SCRIPT: Final = "pgpitr-wal-push"
VERIFY_RESTORE_SCRIPT: Final = "pgpitr-verify-restore"
WAL_CHAIN_SCRIPT: Final = "pgpitr-wal-chain-check"
ENTRYPOINT_SCRIPT: Final = "pgpitr-entrypoint"
"""The image's ENTRYPOINT: initdb on an empty volume, roles reconciled, then postgres."""
RECONCILE_ROLES_SCRIPT: Final = "pgpitr-reconcile-roles"
BOOTSTRAP_SCRIPT: Final = "pgpitr-bootstrap"
"""The primary's init container: an empty volume is initialised, or restored from a used
archive; the archive location is settled."""
ARCHIVE_SETTLE_SCRIPT: Final = "pgpitr-archive-settle"
"""Settles where a server archives (its location in the manifest); wal-push runs it when
the server has not settled yet."""
PRE_STOP_SCRIPT: Final = "pgpitr-pre-stop"
"""The postgres container's preStop hook: a deadline for archiving at shutdown."""
CONFIG_RELOADER_SCRIPT: Final = "pgpitr-config-reloader"
"""The database pod's config-reloader container: reloads the server when postgresql.conf changes."""
WALG_DAEMON_SCRIPT: Final = "pgpitr-walg-daemon"
"""`wal-g daemon` for one recovering server, stopped when its recovery is over."""
WALG_DAEMON_CLIENT: Final = "walg-daemon-client"
"""WAL-G's client of `wal-g daemon` (cmd/daemonclient), installed beside wal-g."""

# Key files in an encryption Secret (components.backup_encryption), also the file names
# under PGPITR_KEYS_DIR/<secret>/.
LIBSODIUM_KEY_FILE: Final = "libsodium-key"
PGP_KEY_FILE: Final = "pgp-key"
PGP_PASSPHRASE_FILE: Final = "pgp-passphrase"
IMAGE_KEYS_DIR: Final = "/etc/pgpitr/keys"

ARCHIVE_STATE_DIR: Final = "pgpitr-archive"
"""Beside PGDATA on the data volume: the settled location (current.env), the manifest as
last seen, and a restore's sources (fetch-N.env). Lost with the volume, as it should be."""

# Files the restore script leaves in PGDATA.
RESTORE_IN_PROGRESS_MARKER: Final = "pgpitr-restore.in-progress"
RESTORE_DONE_MARKER: Final = "pgpitr-restore.done"
RESTORE_KEY_CHECK_DIR: Final = "pgpitr-restore.key-check"
"""Beside PGDATA while pgpitr-restore checks the key on one object of the backup; removed after."""

WAL_FETCH_NOT_FOUND_EXIT: Final = 74
"""wal-g wal-fetch exit code when the segment is not in storage."""
WAL_FETCH_ABORT_EXIT: Final = 200
"""Exit code above 125, which makes PostgreSQL abort recovery instead of ending it."""
