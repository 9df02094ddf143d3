"""The drill runs what the cluster runs: the same postgresql.conf, the same WAL-G and
recovery environment (but for where storage is), the same scripts from docker/."""

from pathlib import Path
from typing import Any

from drill import environment
from drill.local_stack import new_state
from drill.toolchain import Toolchain
from pgpitr.container_env import recovery_environment
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget
from tests.mocks.harness import containers, env_of, kubernetes_objects, run_program

LOCATION_KEYS = {names.WALG_S3_PREFIX, names.WALG_S3_SSE_KMS_ID, names.AWS_REGION}
DRILL_ONLY_KEYS = {names.AWS_ENDPOINT, names.AWS_S3_FORCE_PATH_STYLE}


def by_kind(recorded: Any, kind: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        o for o in kubernetes_objects(recorded) if o["kind"] == kind and o["metadata"]["name"] == name
    )
    return found


def drill_state(tmp_path: Path) -> Any:
    state = new_state(tmp_path, "dev")
    state.s3.kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/drill"
    return state


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
    recorded = run_program(dev_config)
    pod = by_kind(recorded, "StatefulSet", "postgres")["spec"]["template"]["spec"]
    cluster = env_of(containers(pod)["postgres"])
    drill = environment.server_env(drill_state(tmp_path), environment.stack_settings("dev"), fake_tools(tmp_path), "/x")
    walg_keys = {k for k in cluster if k.startswith(("WALG_", "AWS_"))}
    assert walg_keys | DRILL_ONLY_KEYS == {
        k for k in drill if k.startswith("WALG_") or k in LOCATION_KEYS | DRILL_ONLY_KEYS
    }
    for key in walg_keys - LOCATION_KEYS:
        assert drill[key] == cluster[key], key
    assert drill[names.WALG_S3_PREFIX].endswith("/dev/postgres") and cluster[names.WALG_S3_PREFIX].endswith(
        "/dev/postgres"
    )
    for key in (names.POSTGRES_USER, names.POSTGRES_INITDB_ARGS, names.PGPITR_BACKUP_ROLE, names.PGPITR_MONITOR_ROLE):
        assert drill[key] == cluster[key], key


def test_drill_backup_env_matches_the_cronjob(dev_config: dict[str, Any], tmp_path: Path) -> None:
    recorded = run_program(dev_config)
    cronjob = by_kind(recorded, "CronJob", "postgres-backup")
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    cluster = env_of(container)
    drill = environment.backup_env(drill_state(tmp_path), environment.stack_settings("dev"), fake_tools(tmp_path))
    for key in set(cluster) - LOCATION_KEYS - {names.PGHOST, names.PGPORT, names.PGPASSWORD}:
        assert drill[key] == cluster[key], key
    assert container["command"] == [f"{names.IMAGE_BIN_DIR}/{names.BACKUP_SCRIPT}"]
    assert (environment.SCRIPTS_DIR / names.BACKUP_SCRIPT).is_file()


def test_drill_restore_env_matches_the_init_container(dev_config: dict[str, Any], tmp_path: Path) -> None:
    dev_config["pgpitr:restore"] = {"enabled": True, "target": {"time": "2026-02-09T12:00:00Z"}}
    recorded = run_program(dev_config)
    pod = by_kind(recorded, "StatefulSet", "postgres-restored")["spec"]["template"]["spec"]
    cluster = env_of(containers(pod)["restore"])
    recovery = recovery_environment(
        RecoveryTarget.parse("time", "2026-02-09T12:00:00Z"), RecoveryOptions(), "auto", environment.WAL_FETCH_COMMAND
    )
    drill = environment.restore_env(
        drill_state(tmp_path),
        environment.stack_settings("dev"),
        fake_tools(tmp_path),
        "/x",
        recovery,
        "postgres-restored",
    )
    for key in (
        set(cluster) - LOCATION_KEYS - {names.PGPITR_SOURCE_WALG_PREFIX, names.PGDATA, names.PGPITR_WAL_FETCH_COMMAND}
    ):
        assert drill[key] == cluster[key], key
    # The wrapper is the same file, at its image path in the pod and its repository path here.
    assert Path(drill[names.PGPITR_WAL_FETCH_COMMAND]).name == Path(cluster[names.PGPITR_WAL_FETCH_COMMAND]).name
    assert cluster[names.PGPITR_WAL_FETCH_COMMAND] == f"{names.IMAGE_BIN_DIR}/{names.WAL_FETCH_SCRIPT}"
    assert drill[names.PGPITR_SOURCE_WALG_PREFIX].endswith("/dev/postgres")
    assert drill[names.WALG_S3_PREFIX].endswith("/dev/postgres-restored")
    assert containers(pod)["restore"]["command"] == [f"{names.IMAGE_BIN_DIR}/{names.RESTORE_SCRIPT}"]
