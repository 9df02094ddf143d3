"""The drill runs what the cluster runs: the same postgresql.conf, the same WAL-G and
recovery environment, the same scripts from docker/. The drill's S3 server is an
S3-compatible store, so the cluster compared is a stack with `bucket.provider:
s3Compatible` pointing at it: then the WAL-G settings are equal to the letter, and only
the paths (PGDATA, the scripts' folder), the primary's address and the credentials'
delivery (secretKeyRef there, plain here) differ."""

from pathlib import Path
from typing import Any

from drill import environment
from drill.deployment import new_state
from harness.toolchain import Toolchain
from pgpitr.container_env import recovery_environment
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget
from tests.mocks.harness import containers, env_of, kubernetes_objects, run_program

CREDENTIAL_KEYS = {names.AWS_ACCESS_KEY_ID, names.AWS_SECRET_ACCESS_KEY}


def by_kind(recorded: Any, kind: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        o for o in kubernetes_objects(recorded) if o["kind"] == kind and o["metadata"]["name"] == name
    )
    return found


def drill_state(tmp_path: Path) -> Any:
    return new_state(tmp_path, "dev")


def as_s3_compatible(config: dict[str, Any], state: Any) -> dict[str, Any]:
    """The dev stack, its archive on the drill's S3 server: what `cluster up` deploys."""
    config = dict(config)
    config.pop("pgpitr:identity", None)
    config["pgpitr:bucket"] = environment.drill_bucket(state).model_dump(by_alias=True, exclude_none=True)
    config["pgpitr:image"] = {"ref": "localhost/pgpitr:dev"}
    config["pgpitr:credentials"] = {"existingSecret": "postgres-credentials"}
    return config


def walg_settings(env: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in env.items() if k.startswith(("WALG_", "AWS_")) and k not in CREDENTIAL_KEYS}


def credentials_from_the_secret(env: dict[str, Any]) -> None:
    for key in CREDENTIAL_KEYS:
        assert env[key]["secret"] == environment.DRILL_CREDENTIALS_SECRET, key


def fake_tools(tmp_path: Path) -> Toolchain:
    walg = tmp_path / "bin" / "wal-g"
    walg.parent.mkdir()
    walg.touch()
    return Toolchain(pg_bindir=Path("/usr/lib/postgresql/15/bin"), walg=walg)


def test_drill_primary_conf_is_the_configmap(dev_config: dict[str, Any]) -> None:
    recorded = run_program(dev_config)
    configmap = by_kind(recorded, "ConfigMap", "postgres-config")
    assert environment.primary_conf(environment.stack_settings("dev")) == configmap["data"]["postgresql.conf"]


def test_drill_restored_conf_is_the_configmap(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:restore"] = {"enabled": True, "target": {"latest": True}}
    recorded = run_program(dev_config)
    configmap = by_kind(recorded, "ConfigMap", "postgres-restored-config")
    assert environment.restored_conf(environment.stack_settings("dev")) == configmap["data"]["postgresql.conf"]


def test_drill_server_env_matches_the_statefulset(dev_config: dict[str, Any], tmp_path: Path) -> None:
    state = drill_state(tmp_path)
    recorded = run_program(as_s3_compatible(dev_config, state))
    pod = by_kind(recorded, "StatefulSet", "postgres")["spec"]["template"]["spec"]
    cluster = env_of(containers(pod)["postgres"])
    drill = environment.server_env(state, environment.stack_settings("dev"), fake_tools(tmp_path), "/x")
    assert walg_settings(drill) == walg_settings(cluster)
    # The archive is no WALG_ setting any more: compared on its own.
    assert drill[names.PGPITR_ARCHIVE] == cluster[names.PGPITR_ARCHIVE] == "s3://pgpitr-drill/dev/postgres"
    assert names.WALG_S3_PREFIX not in drill and names.WALG_S3_PREFIX not in cluster
    assert names.WALG_S3_SSE not in drill and drill[names.AWS_S3_FORCE_PATH_STYLE] == "true"
    credentials_from_the_secret(cluster)
    for key in (names.POSTGRES_USER, names.POSTGRES_INITDB_ARGS, names.PGPITR_BACKUP_ROLE, names.PGPITR_MONITOR_ROLE):
        assert drill[key] == cluster[key], key


def test_drill_backup_env_matches_the_cronjob(dev_config: dict[str, Any], tmp_path: Path) -> None:
    state = drill_state(tmp_path)
    recorded = run_program(as_s3_compatible(dev_config, state))
    cronjob = by_kind(recorded, "CronJob", "postgres-backup")
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    cluster = env_of(container)
    drill = environment.backup_env(state, environment.stack_settings("dev"), fake_tools(tmp_path))
    for key in set(cluster) - CREDENTIAL_KEYS - {names.PGHOST, names.PGPORT, names.PGPASSWORD}:
        assert drill[key] == cluster[key], key
    credentials_from_the_secret(cluster)
    assert container["command"] == [f"{names.IMAGE_BIN_DIR}/{names.BACKUP_SCRIPT}"]
    assert (environment.SCRIPTS_DIR / names.BACKUP_SCRIPT).is_file()


def test_drill_restore_env_matches_the_init_container(dev_config: dict[str, Any], tmp_path: Path) -> None:
    state = drill_state(tmp_path)
    config = as_s3_compatible(dev_config, state)
    config["pgpitr:restore"] = {"enabled": True, "target": {"time": "2026-02-09T12:00:00Z"}}
    recorded = run_program(config)
    pod = by_kind(recorded, "StatefulSet", "postgres-restored")["spec"]["template"]["spec"]
    cluster = env_of(containers(pod)["restore"])
    recovery = recovery_environment(
        RecoveryTarget.parse("time", "2026-02-09T12:00:00Z"), RecoveryOptions(), "auto", environment.WAL_FETCH_COMMAND
    )
    drill = environment.restore_env(
        state, environment.stack_settings("dev"), fake_tools(tmp_path), "/x", recovery, "postgres-restored"
    )
    for key in set(cluster) - CREDENTIAL_KEYS - {names.PGDATA, names.PGPITR_WAL_FETCH_COMMAND}:
        assert drill[key] == cluster[key], key
    credentials_from_the_secret(cluster)
    # The wrapper is the same file, at its image path in the pod and its repository path here.
    assert Path(drill[names.PGPITR_WAL_FETCH_COMMAND]).name == Path(cluster[names.PGPITR_WAL_FETCH_COMMAND]).name
    assert cluster[names.PGPITR_WAL_FETCH_COMMAND] == f"{names.IMAGE_BIN_DIR}/{names.WAL_FETCH_SCRIPT}"
    assert drill[names.PGPITR_SOURCE_ARCHIVE] == "s3://pgpitr-drill/dev/postgres"
    assert drill[names.PGPITR_ARCHIVE].startswith("s3://pgpitr-drill/dev/postgres-restored/")
    assert containers(pod)["restore"]["command"] == [f"{names.IMAGE_BIN_DIR}/{names.RESTORE_SCRIPT}"]
