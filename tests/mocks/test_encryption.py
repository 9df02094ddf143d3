"""Client-side encryption under mocks: the key reaches WAL-G in every container that runs
it, always from a Secret, never as a literal."""

from typing import Any

import pytest

from tests.mocks.harness import Recorded, all_values_secret, containers, env_of, kubernetes_objects, run_program

WALG_CONTAINERS = [
    ("StatefulSet", "postgres", "bootstrap"),
    ("StatefulSet", "postgres", "postgres"),
    ("CronJob", "postgres-backup", "backup"),
    ("CronJob", "postgres-catch-up-backup", "backup"),
    ("StatefulSet", "postgres-restored", "restore"),
    ("StatefulSet", "postgres-restored", "postgres"),
    ("CronJob", "postgres-verify-restore", "verify"),
]


def container_env(recorded: Recorded, kind: str, name: str, container: str) -> dict[str, Any]:
    (obj,) = [o for o in kubernetes_objects(recorded) if o["kind"] == kind and o["metadata"]["name"] == name]
    spec = obj["spec"]
    pod = spec["template"]["spec"] if kind == "StatefulSet" else spec["jobTemplate"]["spec"]["template"]["spec"]
    return env_of(containers(pod)[container])


def with_encryption(dev_config: dict[str, Any], encryption: dict[str, Any]) -> Recorded:
    dev_config["pgpitr:backup"] = {"encryption": encryption}
    dev_config["pgpitr:restore"] = {"enabled": True, "target": {"latest": True}}
    return run_program(dev_config)


def test_generated_libsodium_key(dev_config: dict[str, Any]) -> None:
    recorded = with_encryption(dev_config, {"method": "libsodium"})
    assert recorded.one("random:index/randomBytes:RandomBytes").inputs["length"] == 32
    secret = recorded.one("kubernetes:core/v1:Secret", "backup-encryption-secret")
    assert secret.inputs["metadata"]["name"] == "postgres-backup-encryption"
    assert all_values_secret(secret.raw_inputs["stringData"])
    for kind, name, container in WALG_CONTAINERS:
        env = container_env(recorded, kind, name, container)
        assert env["WALG_LIBSODIUM_KEY"] == {"secret": "postgres-backup-encryption", "key": "libsodium-key"}, name
        assert env["WALG_LIBSODIUM_KEY_TRANSFORM"] == "base64"
    for obj in kubernetes_objects(recorded):
        if obj["kind"] != "Secret":
            assert "Z2VuZXJhdGVkLWtleS1vZi0zMi1ieXRlcy0xMjM0NTY=" not in str(obj), obj["metadata"]["name"]


@pytest.mark.parametrize(
    ("encryption", "variable", "key"),
    [
        ({"method": "libsodium", "existingSecret": "my-key"}, "WALG_LIBSODIUM_KEY", "libsodium-key"),
        ({"method": "pgp", "existingSecret": "my-key"}, "WALG_PGP_KEY", "pgp-key"),
    ],
)
def test_existing_secret(dev_config: dict[str, Any], encryption: dict[str, Any], variable: str, key: str) -> None:
    recorded = with_encryption(dev_config, encryption)
    assert not recorded.of_type("random:index/randomBytes:RandomBytes")
    for kind, name, container in WALG_CONTAINERS:
        assert container_env(recorded, kind, name, container)[variable] == {"secret": "my-key", "key": key}


def test_no_encryption_by_default(dev_config: dict[str, Any]) -> None:
    recorded = run_program(dev_config)
    env = container_env(recorded, "StatefulSet", "postgres", "postgres")
    assert not {k for k in env if k.startswith(("WALG_LIBSODIUM", "WALG_PGP"))}
    assert not recorded.of_type("random:index/randomBytes:RandomBytes")
