"""The environment of every drill process, built by the same functions that build the
containers' environment (pgpitr.walg_env, pgpitr.container_env), from the same stack
file, so the drill exercises what the cluster runs. The differences are the S3 endpoint
(path-style, on loopback), the static test credentials, and paths on this machine."""

from __future__ import annotations

import os
from pathlib import Path

from drill.state import DrillState
from harness.paths import REPOSITORY_ROOT
from harness.toolchain import Toolchain
from pgpitr.container_env import (
    INITDB_ARGS,
    restore_target_summary,
    restored_archive_path,
    retention_environment,
    role_names_environment,
    stop_environment,
)
from pgpitr.postgresql_conf import render_postgresql_conf
from pgpitr.settings import SettingsError, StackSettings, parse_settings
from pgpitr.settings.bucket import S3CompatibleBucketSettings
from pgpitr.settings.stack import PRIMARY_NAME
from pgpitr.settings.stack_file import read_stack_file
from pgpitr.walg_env import ArchiveLocation, archive_prefix, s3_compatible_location, walg_environment
from pgpitr_runtime import names
from pgpitr_runtime.recovery_env import target_from_env

DRILL_REGION = "us-east-1"
DRILL_ACCESS_KEY_ID = "pgpitr-drill"
DRILL_SECRET_ACCESS_KEY = "pgpitr-drill-secret-key"
DRILL_BUCKET = "pgpitr-drill"
DRILL_CREDENTIALS_SECRET = "pgpitr-drill-s3"
"""The Secret a cluster would keep DRILL_ACCESS_KEY_ID and DRILL_SECRET_ACCESS_KEY in."""
SCRIPTS_DIR = REPOSITORY_ROOT / "docker" / "bin"
WAL_FETCH_COMMAND = str(SCRIPTS_DIR / names.WAL_FETCH_SCRIPT)


def stack_file(stack: str) -> Path:
    """A stack name (Pulumi.<stack>.yaml in the repository) or a path to a stack file."""
    if stack.endswith((".yaml", ".yml")):
        return Path(stack).resolve()
    return REPOSITORY_ROOT / f"Pulumi.{stack}.yaml"


def stack_name(stack: str) -> str:
    """The stack's name as prefixes use it: Pulumi.prod.yaml -> prod."""
    return stack_file(stack).name.removeprefix("Pulumi.").rsplit(".", 1)[0]


def stack_settings(stack: str) -> StackSettings:
    """The settings `pulumi up` would use for `stack`."""
    path = stack_file(stack)
    if not path.is_file():
        raise SettingsError(f"no stack file {path}")
    return parse_settings(read_stack_file(path))


def drill_bucket(state: DrillState) -> S3CompatibleBucketSettings:
    """The drill's S3 server as a stack would name it: `bucket.provider: s3Compatible`
    (plain http on loopback, hence `insecure`). The drill reaches it through the same
    code path as a cluster reaches any S3-compatible store."""
    return S3CompatibleBucketSettings.model_validate(
        {
            "provider": "s3Compatible",
            "endpoint": state.s3.endpoint,
            "insecure": state.s3.scheme == "http",
            "name": state.s3.bucket,
            "region": DRILL_REGION,
            "credentialsSecret": {"name": DRILL_CREDENTIALS_SECRET},
        }
    )


def location(state: DrillState, instance: str = PRIMARY_NAME) -> ArchiveLocation[str]:
    prefix = archive_prefix(stack_name(state.stack), instance)
    return s3_compatible_location(drill_bucket(state), prefix, state.s3.ca_cert_file)


def base_env(tools: Toolchain) -> dict[str, str]:
    """PATH with WAL-G, PostgreSQL and the image's scripts; the runtime helpers on PGPITR_LIB."""
    path = os.pathsep.join([str(tools.walg.parent), str(SCRIPTS_DIR), str(tools.pg_bindir), "/usr/bin", "/bin"])
    env = {
        "PATH": path,
        "LANG": "C.UTF-8",
        "HOME": "/tmp",
        names.PGPITR_LIB: str(REPOSITORY_ROOT),
        names.AWS_ACCESS_KEY_ID: DRILL_ACCESS_KEY_ID,
        names.AWS_SECRET_ACCESS_KEY: DRILL_SECRET_ACCESS_KEY,
    }
    if tools.walg.name != "wal-g":
        raise ValueError(f"the WAL-G binary must be named wal-g, got {tools.walg}")
    return env


def keys_dir(state: DrillState) -> Path:
    """Where the drill keeps the retired keys' files, as a cluster mounts them."""
    return state.path / "keys"


def encryption_env(state: DrillState, settings: StackSettings) -> dict[str, str]:
    """What components.backup_encryption delivers from its Secrets, from the drill's keys."""
    backup = settings.backup
    encryption = backup.encryption
    env = {names.PGPITR_KEYS_DIR: str(keys_dir(state))} if backup.retired_encryption_secrets else {}
    if encryption is None or backup.encryption_secret is None:
        return env
    env |= {
        names.PGPITR_ENCRYPTION_METHOD: encryption.method,
        names.PGPITR_ENCRYPTION_KEY_SOURCE: backup.encryption_secret,
    }
    key = state.libsodium_key if encryption.method == "libsodium" else state.pgp_key
    if not key:
        raise SettingsError(
            f"this drill was started without a {encryption.method} key; run `python -m drill down` and `up` again"
        )
    if encryption.method == "libsodium":
        return env | {names.WALG_LIBSODIUM_KEY: key, names.WALG_LIBSODIUM_KEY_TRANSFORM: "base64"}
    # The Secret's pgp-passphrase is optional (secretKeyRef optional: the variable is
    # then absent, as here for a key without a passphrase).
    passphrase = {names.WALG_PGP_KEY_PASSPHRASE: state.pgp_passphrase} if state.pgp_passphrase else {}
    return env | {names.WALG_PGP_KEY: key, **passphrase}


def write_retired_keys(state: DrillState) -> None:
    """The retired keys' files under keys_dir, one folder per Secret, owner-only."""
    for secret, files in state.retired_keys.items():
        folder = keys_dir(state) / secret
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        for name, content in files.items():
            (folder / name).write_text(content)
            (folder / name).chmod(0o644)


def storage_env(state: DrillState, settings: StackSettings, instance: str = PRIMARY_NAME) -> dict[str, str]:
    return {
        **walg_environment(location(state, instance), settings.backup.compression),
        **encryption_env(state, settings),
    }


def entrypoint_input(
    tools: Toolchain, pgdata: str, *, superuser_password: str, backup_password: str, monitor_password: str
) -> dict[str, str]:
    """What the image's entrypoint reads: where the data lives, how to initialise it,
    the roles to reconcile and their passwords (from the credentials Secret in the
    cluster). For a server with no drill state behind it; the drill's use entrypoint_env."""
    return {
        **base_env(tools),
        names.PGDATA: pgdata,
        names.POSTGRES_USER: names.SUPERUSER_ROLE,
        names.POSTGRES_INITDB_ARGS: INITDB_ARGS,
        **role_names_environment(),
        **stop_environment(),
        names.POSTGRES_PASSWORD: superuser_password,
        names.PGPITR_BACKUP_PASSWORD: backup_password,
        names.PGPITR_MONITOR_PASSWORD: monitor_password,
    }


def entrypoint_env(state: DrillState, tools: Toolchain, pgdata: str) -> dict[str, str]:
    """The entrypoint's input with the drill's passwords."""
    return entrypoint_input(
        tools,
        pgdata,
        superuser_password=state.superuser_password,
        backup_password=state.backup_password,
        monitor_password=state.monitor_password,
    )


def server_env(state: DrillState, settings: StackSettings, tools: Toolchain, pgdata: str) -> dict[str, str]:
    """What the postgres container gets (archive_command inherits it)."""
    return {**entrypoint_env(state, tools, pgdata), **storage_env(state, settings)}


def primary_connection(state: DrillState, user: str, password: str) -> dict[str, str]:
    """libpq's environment for reaching the drill's primary over TCP as `user`."""
    return {
        names.PGHOST: "127.0.0.1",
        names.PGPORT: str(state.primary.port),
        names.PGUSER: user,
        names.PGPASSWORD: password,
        names.PGDATABASE: "postgres",
    }


def backup_env(state: DrillState, settings: StackSettings, tools: Toolchain) -> dict[str, str]:
    """The backup CronJob's container, pointed at the local primary."""
    return {
        **base_env(tools),
        **primary_connection(state, names.BACKUP_ROLE, state.backup_password),
        "PGSSLMODE": "prefer",
        **storage_env(state, settings),
        **retention_environment(settings.backup.retention),
    }


def restore_env(
    state: DrillState,
    settings: StackSettings,
    tools: Toolchain,
    pgdata: str,
    recovery: dict[str, str],
    instance: str,
) -> dict[str, str]:
    """The restored instance `instance`'s init container and server: the source's archive,
    and the copy's own, one per target (pgpitr.container_env.restored_archive_path)."""
    own_archive = instance
    if names.PGPITR_RECOVERY_TARGET_KIND in recovery:
        target, options = target_from_env(recovery)
        summary = restore_target_summary(target, recovery.get(names.PGPITR_RECOVERY_BACKUP) or "auto", options)
        own_archive = restored_archive_path(instance, summary)
    return {
        **entrypoint_env(state, tools, pgdata),
        **storage_env(state, settings, own_archive),
        names.PGPITR_SOURCE_ARCHIVE: location(state).walg_prefix,
        **recovery,
    }


def verify_env(state: DrillState, settings: StackSettings, tools: Toolchain, pgdata: str) -> dict[str, str]:
    """The restore drill CronJob's container: read the primary's archive, restore to its end."""
    drill = settings.verify.drill
    return {
        **base_env(tools),
        names.PGDATA: pgdata,
        **storage_env(state, settings),
        names.PGPITR_SOURCE_ARCHIVE: location(state).walg_prefix,
        names.PGPITR_WAL_FETCH_COMMAND: WAL_FETCH_COMMAND,
        names.PGPITR_VERIFY_TIMEOUT: str(drill.deadline_hours * 3600),
        **({names.PGPITR_VERIFY_SQL: drill.sql} if drill.sql else {}),
    }


def wal_chain_env(state: DrillState, settings: StackSettings, tools: Toolchain) -> dict[str, str]:
    """The WAL chain CronJob's container: the archive, and the primary as the monitoring role."""
    return {
        **base_env(tools),
        **primary_connection(state, names.MONITOR_ROLE, state.monitor_password),
        **storage_env(state, settings),
    }


def bootstrap_env(state: DrillState, settings: StackSettings, tools: Toolchain, pgdata: str) -> dict[str, str]:
    """The primary's init container (pgpitr-bootstrap): the server's environment, and what
    to do with an empty volume over a used archive."""
    return server_env(state, settings, tools, pgdata) | {names.PGPITR_EMPTY_VOLUME: settings.storage.empty_volume}


def primary_conf(settings: StackSettings) -> str:
    return render_postgresql_conf(settings.archive_timeout, settings.postgresql.root)


def restored_conf(settings: StackSettings) -> str:
    return render_postgresql_conf(settings.archive_timeout, settings.postgresql.root, archive=settings.restore.archive)
