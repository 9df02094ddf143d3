"""Names of the Kubernetes objects and keys pgpitr creates, defined once."""

from typing import Final

from pgpitr_runtime import names

CREDENTIALS_SECRET: Final = "postgres-credentials"
SUPERUSER_PASSWORD_KEY: Final = "superuser-password"
BACKUP_PASSWORD_KEY: Final = "backup-password"
MONITOR_PASSWORD_KEY: Final = "monitor-password"

AWS_KEYS_SECRET: Final = "aws-credentials"
AWS_ACCESS_KEY_ID_KEY: Final = "access-key-id"
AWS_SECRET_ACCESS_KEY_KEY: Final = "secret-access-key"

ENCRYPTION_SECRET: Final = "postgres-backup-encryption"
"""The Secret pgpitr generates a libsodium key into (backup.encryption without existingSecret)."""
LIBSODIUM_KEY_KEY: Final = names.LIBSODIUM_KEY_FILE
PGP_KEY_KEY: Final = names.PGP_KEY_FILE
PGP_PASSPHRASE_KEY: Final = names.PGP_PASSPHRASE_FILE

IRSA_ROLE_ANNOTATION: Final = "eks.amazonaws.com/role-arn"
APP_LABEL: Final = "app.kubernetes.io/name"
INSTANCE_LABEL: Final = "app.kubernetes.io/instance"
COMPONENT_LABEL: Final = "app.kubernetes.io/component"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
RESTORE_TARGET_ANNOTATION: Final = "pgpitr.io/recovery-target"
RESTART_SETTINGS_ANNOTATION: Final = "pgpitr.io/restart-settings-sha256"
"""On the pod template: the digest of the postgresql.conf settings only a restart applies."""
ROLE_LABEL: Final = "pgpitr.io/role"
"""`primary` or `restored`: what guardrails (policy/) tell apart."""
PRIMARY_ROLE: Final = "primary"
RESTORED_ROLE: Final = "restored"

DATA_VOLUME: Final = "data"


def statefulset_claim(claim_template: str, statefulset: str) -> str:
    """The PVC a StatefulSet's controller makes for its only pod from `claim_template`."""
    return f"{claim_template}-{statefulset}-0"


CONFIG_VOLUME: Final = "config"
SOCKET_VOLUME: Final = "run"
TMP_VOLUME: Final = "tmp"
POSTGRES_PORT: Final = 5432
EXPORTER_METRICS_PORT: Final = 9187
"""postgres_exporter's port, named `metrics` in the pod."""


def headless_service(instance: str) -> str:
    return f"{instance}-headless"


def config_map(instance: str) -> str:
    return f"{instance}-config"


def backup_cronjob(instance: str) -> str:
    return f"{instance}-backup"


def drill_cronjob(instance: str) -> str:
    """The scheduled restore drill of `instance`."""
    return f"{instance}-verify-restore"


def chain_cronjob(instance: str) -> str:
    """The scheduled WAL chain check of `instance`."""
    return f"{instance}-wal-chain-check"


def catch_up_backup_cronjob(instance: str) -> str:
    """The CronJob that backs up within minutes when the archive's current location has no
    backup of the primary's timeline. Not `<backup_cronjob>-...`: the alerts tell the two
    CronJobs' Jobs apart by their names' prefixes."""
    return f"{instance}-catch-up-backup"


def labels(instance: str, component: str) -> dict[str, str]:
    return {
        APP_LABEL: "postgresql",
        INSTANCE_LABEL: instance,
        COMPONENT_LABEL: component,
        MANAGED_BY_LABEL: "pgpitr",
    }


def selector(instance: str) -> dict[str, str]:
    return {APP_LABEL: "postgresql", INSTANCE_LABEL: instance}
