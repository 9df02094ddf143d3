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
WALG_COMPRESSION_METHOD: Final = "WALG_COMPRESSION_METHOD"
WALG_PREVENT_WAL_OVERWRITE: Final = "WALG_PREVENT_WAL_OVERWRITE"
WALG_DELTA_MAX_STEPS: Final = "WALG_DELTA_MAX_STEPS"
WALG_UPLOAD_CONCURRENCY: Final = "WALG_UPLOAD_CONCURRENCY"
WALG_DOWNLOAD_CONCURRENCY: Final = "WALG_DOWNLOAD_CONCURRENCY"
WALG_LIBSODIUM_KEY: Final = "WALG_LIBSODIUM_KEY"
WALG_LIBSODIUM_KEY_TRANSFORM: Final = "WALG_LIBSODIUM_KEY_TRANSFORM"
WALG_PGP_KEY: Final = "WALG_PGP_KEY"
WALG_PGP_KEY_PASSPHRASE: Final = "WALG_PGP_KEY_PASSPHRASE"
PGHOST: Final = "PGHOST"
PGPORT: Final = "PGPORT"
PGUSER: Final = "PGUSER"
PGPASSWORD: Final = "PGPASSWORD"
PGDATABASE: Final = "PGDATABASE"
PGDATA: Final = "PGDATA"

# --- The official postgres image's entrypoint --------------------------------
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
PGPITR_SOURCE_WALG_PREFIX: Final = "PGPITR_SOURCE_WALG_PREFIX"
"""Where a restore reads from; WALG_S3_PREFIX is where the restored instance archives."""
PGPITR_RECOVERY_TARGET_KIND: Final = "PGPITR_RECOVERY_TARGET_KIND"
PGPITR_RECOVERY_TARGET_VALUE: Final = "PGPITR_RECOVERY_TARGET_VALUE"
PGPITR_RECOVERY_BACKUP: Final = "PGPITR_RECOVERY_BACKUP"
PGPITR_RECOVERY_INCLUSIVE: Final = "PGPITR_RECOVERY_INCLUSIVE"
PGPITR_RECOVERY_TIMELINE: Final = "PGPITR_RECOVERY_TIMELINE"
PGPITR_RECOVERY_ACTION: Final = "PGPITR_RECOVERY_ACTION"
PGPITR_WAL_FETCH_COMMAND: Final = "PGPITR_WAL_FETCH_COMMAND"
PGPITR_VERIFY_SQL: Final = "PGPITR_VERIFY_SQL"
"""Optional query the restore drill runs on its copy; it must return true."""
PGPITR_VERIFY_TIMEOUT: Final = "PGPITR_VERIFY_TIMEOUT"
"""Seconds the restore drill lets recovery take."""
"""Path of the wal-fetch wrapper written into restore_command."""

# --- Roles created in every cluster -------------------------------------------
SUPERUSER_ROLE: Final = "postgres"
BACKUP_ROLE: Final = "pgpitr_backup"
MONITOR_ROLE: Final = "pgpitr_monitor"

# --- Paths inside the image ----------------------------------------------------
IMAGE_BIN_DIR: Final = "/usr/local/bin"
IMAGE_LIB_DIR: Final = "/usr/local/lib/pgpitr"
IMAGE_INITDB_DIR: Final = "/docker-entrypoint-initdb.d"
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
VERIFY_RESTORE_SCRIPT: Final = "pgpitr-verify-restore"
WAL_CHAIN_SCRIPT: Final = "pgpitr-wal-chain-check"
ROLES_INITDB_SCRIPT: Final = "10-pgpitr-roles.sh"

# Files the restore script leaves in PGDATA.
RESTORE_IN_PROGRESS_MARKER: Final = "pgpitr-restore.in-progress"
RESTORE_DONE_MARKER: Final = "pgpitr-restore.done"

WAL_FETCH_NOT_FOUND_EXIT: Final = 74
"""wal-g wal-fetch exit code when the segment is not in storage."""
WAL_FETCH_ABORT_EXIT: Final = 200
"""Exit code above 125, which makes PostgreSQL abort recovery instead of ending it."""
