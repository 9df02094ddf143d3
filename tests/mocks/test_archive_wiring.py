"""The archive's wiring under mocks: the primary's bootstrap init container and the token
only it mounts, the Events it may create, the catch-up backup, the stop hook, the keys of
retired encryption Secrets, an archive per restore target, and the grants on the
archive's `.locations` folder."""

from typing import Any

import pytest
from pydantic import ValidationError

from components.stack import STARTUP_SECONDS, archive_grants
from pgpitr.container_env import STOP_ARCHIVE_SECONDS, STOP_GRACE_SECONDS, restore_digest, restore_target_summary
from pgpitr.iam_policies import PrefixGrant
from pgpitr.settings.backup import BackupSettings
from pgpitr.settings.restore import TargetSettings
from tests.mocks.harness import Recorded, containers, env_of, kubernetes_objects, run_program

BOOTSTRAP = "/usr/local/bin/pgpitr-bootstrap"
TOKEN_VOLUME = "kubernetes-api"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
KEYS_DIR = "/etc/pgpitr/keys"
GENERATED_SECRET = "postgres-backup-encryption"
RESTORE_LATEST = {"enabled": True, "target": {"latest": True}}
CATCH_UP = "postgres-catch-up-backup"


def objects(recorded: Recorded, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in kubernetes_objects(recorded) if o["kind"] == kind}


def pod(recorded: Recorded, kind: str, name: str) -> dict[str, Any]:
    spec = objects(recorded, kind)[name]["spec"]
    found: dict[str, Any] = (
        spec["template"]["spec"] if kind == "StatefulSet" else spec["jobTemplate"]["spec"]["template"]["spec"]
    )
    return found


def primary_pod(recorded: Recorded) -> dict[str, Any]:
    return pod(recorded, "StatefulSet", "postgres")


def mounts(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in container.get("volumeMounts", [])}


def volumes(pod_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in pod_spec.get("volumes", [])}


def all_pods(recorded: Recorded) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in kubernetes_objects(recorded):
        if obj["kind"] == "StatefulSet":
            found.append((obj["metadata"]["name"], obj["spec"]["template"]["spec"]))
        elif obj["kind"] == "CronJob":
            found.append((obj["metadata"]["name"], obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    return found


@pytest.fixture
def dev(dev_config: dict[str, Any]) -> Recorded:
    return run_program(dev_config)


@pytest.fixture
def restored(dev_config: dict[str, Any]) -> Recorded:
    dev_config["pgpitr:restore"] = RESTORE_LATEST
    return run_program(dev_config)


# --- the primary's bootstrap init container ---------------------------------------------


def test_bootstrap_runs_before_postgres_with_its_environment(dev: Recorded) -> None:
    spec = primary_pod(dev)
    (bootstrap,) = spec["initContainers"]
    postgres = containers(spec)["postgres"]
    assert bootstrap["name"] == "bootstrap"
    assert bootstrap["command"] == [BOOTSTRAP]
    assert bootstrap["image"] == postgres["image"] == dev.outputs["image"]
    # The postgres container's environment, and what only the bootstrap reads.
    assert env_of(bootstrap) == {
        **env_of(postgres),
        "PGPITR_EMPTY_VOLUME": "restore",
        "PGPITR_POD_NAME": {"field": "metadata.name"},
        "PGPITR_POD_UID": {"field": "metadata.uid"},
    }
    assert env_of(bootstrap)["PGPITR_ARCHIVE"] == dev.outputs["walg_s3_prefix"]
    # It prepares the data volume the server then runs on, as non-root as the server.
    assert mounts(bootstrap)["data"]["mountPath"] == mounts(postgres)["data"]["mountPath"]
    context = bootstrap["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
    assert bootstrap["resources"] == postgres["resources"]


def test_empty_volume_refuse_reaches_the_bootstrap(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:storage"] = {"size": "50Gi", "emptyVolume": "refuse"}
    primary = containers(primary_pod(run_program(dev_config)))
    assert env_of(primary["bootstrap"])["PGPITR_EMPTY_VOLUME"] == "refuse"
    assert "PGPITR_EMPTY_VOLUME" not in env_of(primary["postgres"])


def test_only_the_bootstrap_mounts_a_service_account_token(dev: Recorded) -> None:
    spec = primary_pod(dev)
    assert spec["automountServiceAccountToken"] is False
    assert objects(dev, "ServiceAccount")["postgres"]["automountServiceAccountToken"] is False
    sources = volumes(spec)[TOKEN_VOLUME]["projected"]["sources"]
    (token,) = [s["serviceAccountToken"] for s in sources if "serviceAccountToken" in s]
    assert token["path"] == "token" and token["expirationSeconds"] <= 3600
    (ca,) = [s["configMap"] for s in sources if "configMap" in s]
    assert ca == {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    (downward,) = [s["downwardAPI"] for s in sources if "downwardAPI" in s]
    assert downward["items"] == [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]
    mounting = {name for name, c in containers(spec).items() if TOKEN_VOLUME in mounts(c)}
    assert mounting == {"bootstrap"}
    mount = mounts(containers(spec)["bootstrap"])[TOKEN_VOLUME]
    assert mount["mountPath"] == TOKEN_DIR and mount["readOnly"] is True
    # No other container finds a token where clients look for one.
    for name, container in containers(spec).items():
        if name != "bootstrap":
            assert not [m for m in container.get("volumeMounts", []) if m["mountPath"].startswith(TOKEN_DIR)], name


def test_restored_instance_has_no_bootstrap_and_no_token(restored: Recorded) -> None:
    spec = pod(restored, "StatefulSet", "postgres-restored")
    assert [c["name"] for c in spec["initContainers"]] == ["restore"]
    assert TOKEN_VOLUME not in volumes(spec)
    assert spec["automountServiceAccountToken"] is False
    assert not [c for c in containers(spec).values() if c.get("command") == [BOOTSTRAP]]
    # The primary keeps its own.
    assert [c["name"] for c in primary_pod(restored)["initContainers"]] == ["bootstrap"]


# --- the primary may create Events, and nothing else -------------------------------------


def test_events_role_creates_events_only(restored: Recorded) -> None:
    roles = objects(restored, "Role")
    assert set(roles) == {"postgres-events"}, "one Role, the primary's; the restored copy has none"
    role = roles["postgres-events"]
    assert role["metadata"]["namespace"] == "database"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]
    assert not objects(restored, "ClusterRole") and not objects(restored, "ClusterRoleBinding")


def test_events_role_binding_names_the_primarys_service_account(restored: Recorded) -> None:
    bindings = objects(restored, "RoleBinding")
    assert set(bindings) == {"postgres-events"}
    binding = bindings["postgres-events"]
    assert binding["metadata"]["namespace"] == "database"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "postgres-events"}
    account = primary_pod(restored)["serviceAccountName"]
    assert account == "postgres" and account in objects(restored, "ServiceAccount")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "database"}]


# --- the catch-up backup -----------------------------------------------------------------


def test_catch_up_cronjob_backs_up_when_missing(dev: Recorded) -> None:
    cronjobs = objects(dev, "CronJob")
    assert {"postgres-backup", CATCH_UP} <= set(cronjobs)
    spec = cronjobs[CATCH_UP]["spec"]
    assert spec["schedule"] == "*/5 * * * *" and spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    (catch_up,) = pod(dev, "CronJob", CATCH_UP)["containers"]
    (scheduled,) = pod(dev, "CronJob", "postgres-backup")["containers"]
    assert env_of(catch_up) == {**env_of(scheduled), "PGPITR_BACKUP_WHEN_MISSING": "true"}
    assert "PGPITR_BACKUP_WHEN_MISSING" not in env_of(scheduled)
    assert {k: v for k, v in catch_up.items() if k != "env"} == {k: v for k, v in scheduled.items() if k != "env"}
    catch_up_pod, scheduled_pod = pod(dev, "CronJob", CATCH_UP), pod(dev, "CronJob", "postgres-backup")
    assert catch_up_pod["volumes"] == scheduled_pod["volumes"]
    assert catch_up_pod["serviceAccountName"] == scheduled_pod["serviceAccountName"] == "postgres"
    assert catch_up_pod["automountServiceAccountToken"] is False


def test_catch_up_keeps_its_schedule_whatever_the_backup_schedule(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:backup"] = {"schedule": "30 1 * * 0", "timeZone": "Europe/Berlin"}
    cronjobs = objects(run_program(dev_config), "CronJob")
    assert (cronjobs["postgres-backup"]["spec"]["schedule"], cronjobs["postgres-backup"]["spec"]["timeZone"]) == (
        "30 1 * * 0",
        "Europe/Berlin",
    )
    assert (cronjobs[CATCH_UP]["spec"]["schedule"], cronjobs[CATCH_UP]["spec"]["timeZone"]) == (
        "*/5 * * * *",
        "Etc/UTC",
    )


# --- stopping, and starting after a long recovery ----------------------------------------


@pytest.mark.parametrize("instance", ["postgres", "postgres-restored"])
def test_pre_stop_hook_and_grace_period(restored: Recorded, instance: str) -> None:
    spec = pod(restored, "StatefulSet", instance)
    postgres = containers(spec)["postgres"]
    assert postgres["lifecycle"]["preStop"]["exec"]["command"] == ["/usr/local/bin/pgpitr-pre-stop"]
    assert env_of(postgres)["PGPITR_STOP_ARCHIVE_SECONDS"] == "90" == str(STOP_ARCHIVE_SECONDS)
    assert spec["terminationGracePeriodSeconds"] == 150 == STOP_GRACE_SECONDS
    # The hook's archiving deadline ends well before the kill.
    assert STOP_ARCHIVE_SECONDS < STOP_GRACE_SECONDS


@pytest.mark.parametrize("instance", ["postgres", "postgres-restored"])
def test_startup_probe_allows_a_day_of_recovery(restored: Recorded, instance: str) -> None:
    probe = containers(pod(restored, "StatefulSet", instance))["postgres"]["startupProbe"]
    assert STARTUP_SECONDS == 24 * 3600
    assert probe["periodSeconds"] * probe["failureThreshold"] >= STARTUP_SECONDS


# --- encryption keys: the current one, and the retired ones ------------------------------

RETIRED = [GENERATED_SECRET, "key-2024"]
KEY_CONTAINERS = [
    ("StatefulSet", "postgres", "bootstrap"),
    ("StatefulSet", "postgres", "postgres"),
    ("StatefulSet", "postgres-restored", "restore"),
    ("StatefulSet", "postgres-restored", "postgres"),
    ("CronJob", "postgres-backup", "backup"),
    ("CronJob", CATCH_UP, "backup"),
    ("CronJob", "postgres-verify-restore", "verify"),
]


def with_retired_keys(dev_config: dict[str, Any], backup: dict[str, Any]) -> Recorded:
    dev_config["pgpitr:backup"] = backup
    dev_config["pgpitr:restore"] = RESTORE_LATEST
    return run_program(dev_config)


@pytest.fixture
def rotated(dev_config: dict[str, Any]) -> Recorded:
    """The generated key, then key-2024, retired; key-2025 encrypts new objects."""
    encryption = {"method": "libsodium", "existingSecret": "key-2025"}
    return with_retired_keys(dev_config, {"encryption": encryption, "retiredEncryptionSecrets": RETIRED})


@pytest.mark.parametrize(("kind", "name", "container"), KEY_CONTAINERS, ids=[f"{k[1]}/{k[2]}" for k in KEY_CONTAINERS])
def test_retired_keys_are_mounted_read_only_in_every_walg_container(
    rotated: Recorded, kind: str, name: str, container: str
) -> None:
    spec = pod(rotated, kind, name)
    found = containers(spec)[container]
    for index, secret in enumerate(RETIRED):
        volume = volumes(spec)[f"retired-key-{index}"]
        assert volume["secret"] == {"secretName": secret, "optional": True}
        mount = mounts(found)[f"retired-key-{index}"]
        assert mount == {"name": f"retired-key-{index}", "mountPath": f"{KEYS_DIR}/{secret}", "readOnly": True}
    env = env_of(found)
    assert env["PGPITR_KEYS_DIR"] == KEYS_DIR
    # The current key still comes by secretKeyRef, from its own Secret.
    assert env["WALG_LIBSODIUM_KEY"] == {"secret": "key-2025", "key": "libsodium-key"}
    assert env["WALG_LIBSODIUM_KEY_TRANSFORM"] == "base64"
    assert (env["PGPITR_ENCRYPTION_METHOD"], env["PGPITR_ENCRYPTION_KEY_SOURCE"]) == ("libsodium", "key-2025")


def test_retired_keys_reach_no_other_container(rotated: Recorded) -> None:
    """Only what runs WAL-G over older locations gets them; the exporter, for one, does not."""
    wanted = {(kind, name, container) for kind, name, container in KEY_CONTAINERS}
    for obj in kubernetes_objects(rotated):
        if obj["kind"] not in ("StatefulSet", "CronJob"):
            continue
        spec = pod(rotated, obj["kind"], obj["metadata"]["name"])
        for container_name, container in containers(spec).items():
            mounted = {m for m in mounts(container) if m.startswith("retired-key-")}
            expected = (obj["kind"], obj["metadata"]["name"], container_name) in wanted
            assert mounted == ({"retired-key-0", "retired-key-1"} if expected else set()), container_name


def test_no_retired_keys_no_keys_dir(dev_config: dict[str, Any]) -> None:
    recorded = with_retired_keys(dev_config, {"encryption": {"method": "libsodium"}})
    for kind, name, container in KEY_CONTAINERS:
        spec = pod(recorded, kind, name)
        assert not [v for v in volumes(spec) if v.startswith("retired-key-")], name
        env = env_of(containers(spec)[container])
        assert "PGPITR_KEYS_DIR" not in env
        assert (env["PGPITR_ENCRYPTION_METHOD"], env["PGPITR_ENCRYPTION_KEY_SOURCE"]) == ("libsodium", GENERATED_SECRET)


def test_pgp_key_source_and_method(dev_config: dict[str, Any]) -> None:
    recorded = with_retired_keys(dev_config, {"encryption": {"method": "pgp", "existingSecret": "pgp-2025"}})
    for kind, name, container in KEY_CONTAINERS:
        env = env_of(containers(pod(recorded, kind, name))[container])
        assert (env["PGPITR_ENCRYPTION_METHOD"], env["PGPITR_ENCRYPTION_KEY_SOURCE"]) == ("pgp", "pgp-2025")
        assert env["WALG_PGP_KEY"] == {"secret": "pgp-2025", "key": "pgp-key"}


def test_generated_key_is_kept_while_listed_as_retired(rotated: Recorded) -> None:
    assert rotated.one("random:index/randomBytes:RandomBytes").inputs["length"] == 32
    secret = rotated.one("kubernetes:core/v1:Secret", "backup-encryption-secret")
    assert secret.inputs["metadata"]["name"] == GENERATED_SECRET


def test_generated_key_is_kept_with_encryption_turned_off(dev_config: dict[str, Any]) -> None:
    recorded = with_retired_keys(dev_config, {"retiredEncryptionSecrets": [GENERATED_SECRET]})
    assert recorded.one("kubernetes:core/v1:Secret", "backup-encryption-secret")
    env = env_of(containers(primary_pod(recorded))["postgres"])
    assert env["PGPITR_KEYS_DIR"] == KEYS_DIR
    assert not {k for k in env if k.startswith(("WALG_LIBSODIUM", "WALG_PGP", "PGPITR_ENCRYPTION_"))}


def test_generated_key_goes_once_neither_current_nor_retired(dev_config: dict[str, Any]) -> None:
    encryption = {"method": "libsodium", "existingSecret": "key-2025"}
    recorded = with_retired_keys(dev_config, {"encryption": encryption, "retiredEncryptionSecrets": ["key-2024"]})
    assert not recorded.of_type("random:index/randomBytes:RandomBytes")
    assert "backup-encryption-secret" not in {r.name for r in recorded.of_type("kubernetes:core/v1:Secret")}


@pytest.mark.parametrize(
    "backup",
    [
        {"encryption": {"method": "libsodium"}, "retiredEncryptionSecrets": [GENERATED_SECRET]},
        {"encryption": {"method": "pgp", "existingSecret": "k"}, "retiredEncryptionSecrets": ["k"]},
        {"retiredEncryptionSecrets": ["key-2024", "key-2024"]},
        {"retiredEncryptionSecrets": ["Not_A_Secret"]},
    ],
    ids=["generated key current", "existing key current", "twice", "not a name"],
)
def test_retired_secrets_are_checked(backup: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BackupSettings.model_validate(backup)


# --- an archive per restore target ---------------------------------------------------------

TIMES = ["2026-02-09T12:00:00Z", "2026-02-09T13:00:00Z"]


def restored_archive(dev_config: dict[str, Any], when: str) -> tuple[Recorded, dict[str, Any]]:
    dev_config["pgpitr:restore"] = {"enabled": True, "archive": True, "target": {"time": when}}
    recorded = run_program(dev_config)
    return recorded, pod(recorded, "StatefulSet", "postgres-restored")


def test_each_target_archives_to_its_own_archive_named_like_its_claim(dev_config: dict[str, Any]) -> None:
    archives = []
    for when in TIMES:
        recorded, spec = restored_archive(dev_config, when)
        (claim,) = objects(recorded, "StatefulSet")["postgres-restored"]["spec"]["volumeClaimTemplates"]
        digest = restore_digest(
            restore_target_summary(TargetSettings.model_validate({"time": when}).to_target(), "auto")
        )
        assert claim["metadata"]["name"] == f"data-{digest}"
        expected = f"s3://{recorded.outputs['bucket_name']}/dev/postgres-restored/{digest}"
        for container in ("restore", "postgres"):
            env = env_of(containers(spec)[container])
            assert env["PGPITR_ARCHIVE"] == expected, container
            assert env["PGPITR_SOURCE_ARCHIVE"] == recorded.outputs["walg_s3_prefix"], container
        assert recorded.outputs["restored_walg_s3_prefix"] == expected
        archives.append(expected)
    assert archives[0] != archives[1]


def test_the_restored_grants_cover_every_target(dev_config: dict[str, Any]) -> None:
    """Read the source archive (and its `.locations`), write under the restored name: one
    policy for every target's archive, unchanged when the target changes."""
    policies = []
    for when in TIMES:
        recorded, _ = restored_archive(dev_config, when)
        policy = recorded.one("aws:iam/rolePolicy:RolePolicy", "dev-postgres-restored-walg-storage").json("policy")
        bucket = f"arn:aws:s3:::{recorded.outputs['bucket_name']}"
        sids = {s["Sid"]: s for s in policy["Statement"]}
        assert sorted(sids["ReadObjects"]["Resource"]) == [
            f"{bucket}/dev/postgres-restored/*",
            f"{bucket}/dev/postgres.locations/*",
            f"{bucket}/dev/postgres/*",
        ]
        assert sids["WriteObjects"]["Resource"] == [f"{bucket}/dev/postgres-restored/*"]
        own = recorded.outputs["restored_walg_s3_prefix"].removeprefix(f"s3://{recorded.outputs['bucket_name']}/")
        assert own.startswith("dev/postgres-restored/")
        assert sorted(sids["ListOwnPrefixes"]["Condition"]["StringLike"]["s3:prefix"]) == [
            "dev/postgres",
            "dev/postgres-restored",
            "dev/postgres-restored/*",
            "dev/postgres.locations",
            "dev/postgres.locations/*",
            "dev/postgres/*",
        ]
        policies.append(policy)
    assert policies[0] == policies[1]


# --- the grants cover the archive's `.locations` ------------------------------------------


def test_archive_grants_name_the_locations_folder() -> None:
    assert archive_grants("dev/postgres", "read") == [
        PrefixGrant("dev/postgres", "read"),
        PrefixGrant("dev/postgres.locations", "read"),
    ]


@pytest.mark.parametrize(
    ("policy_name", "writes"),
    [("dev-postgres-walg-storage", True), ("dev-postgres-verify-walg-storage", False)],
)
def test_primary_and_verify_grants_include_the_locations(dev: Recorded, policy_name: str, writes: bool) -> None:
    policy = dev.one("aws:iam/rolePolicy:RolePolicy", policy_name).json("policy")
    bucket = f"arn:aws:s3:::{dev.outputs['bucket_name']}"
    sids = {s["Sid"]: s for s in policy["Statement"]}
    objects_arns = [f"{bucket}/dev/postgres.locations/*", f"{bucket}/dev/postgres/*"]
    assert sorted(sids["ReadObjects"]["Resource"]) == objects_arns
    prefixes = sids["ListOwnPrefixes"]["Condition"]["StringLike"]["s3:prefix"]
    assert {"dev/postgres.locations", "dev/postgres.locations/*"} <= set(prefixes)
    if writes:
        assert sorted(sids["WriteObjects"]["Resource"]) == objects_arns
    else:
        assert "WriteObjects" not in sids


# --- no container is given WALG_S3_PREFIX ---------------------------------------------------


def test_no_container_gets_walg_s3_prefix(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:restore"] = {"enabled": True, "archive": True, "target": {"latest": True}}
    recorded = run_program(dev_config)
    seen = set()
    for _, spec in all_pods(recorded):
        for name, container in containers(spec).items():
            env = env_of(container)
            assert "WALG_S3_PREFIX" not in env, name
            if "PGPITR_ARCHIVE" in env:
                seen.add(name)
    assert {"bootstrap", "postgres", "restore", "backup", "verify", "wal-chain"} <= seen
