"""Changes to a deployed stack that would strand or lose its archive stop the program with
one line, before it declares anything; the rest go through."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from pgpitr.deployed.guards import refusals
from pgpitr.deployed.locations import LocationSettings, opened_locations
from pgpitr.deployed.record import OUTPUT_NAME, DeployedSettings
from pgpitr.settings import parse_settings
from tests.mocks import harness
from tests.mocks.harness import run_program


def deployed_outputs(config: dict[str, Any]) -> dict[str, Any]:
    """What a `pulumi up` of `config` exported."""
    return run_program(config).outputs


def redeploy(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """The refusal `pulumi up` of `after` on a stack deployed with `before`, or None."""
    previous = {OUTPUT_NAME: deployed_outputs(before)["deployed_settings"]}
    try:
        run_program(after, previous_outputs=previous)
    except pulumi.RunError as error:
        return str(error)
    return None


def test_the_record_is_exported_and_read_back(dev_config: dict[str, Any]) -> None:
    exported = deployed_outputs(dev_config)["deployed_settings"]
    assert DeployedSettings.from_output(exported) == DeployedSettings.of(parse_settings(dev_config))


def test_an_unchanged_or_ordinary_change_goes_through(dev_config: dict[str, Any]) -> None:
    assert redeploy(dev_config, dev_config) is None
    changed = {**dev_config, "pgpitr:archiveTimeout": 120, "pgpitr:storage": {"size": "80Gi"}}
    assert redeploy(dev_config, changed) is None


def test_a_namespace_change_is_refused_in_one_line(dev_config: dict[str, Any]) -> None:
    refusal = redeploy(dev_config, {**dev_config, "pgpitr:namespace": "db2"})
    assert refusal is not None and "\n" not in refusal
    assert refusal.startswith("invalid stack config: pgpitr:namespace: cannot change on a deployed stack")
    assert "database -> db2" in refusal and "pulumi destroy" in refusal


def test_nothing_is_declared_before_the_refusal(dev_config: dict[str, Any]) -> None:
    previous = {OUTPUT_NAME: deployed_outputs(dev_config)["deployed_settings"]}
    mocks_seen: list[str] = []
    original = harness.RecordingMocks.new_resource

    def counting(self: harness.RecordingMocks, args: Any) -> Any:
        mocks_seen.append(args.typ)
        return original(self, args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(harness.RecordingMocks, "new_resource", counting)
        with pytest.raises(pulumi.RunError):
            run_program({**dev_config, "pgpitr:namespace": "db2"}, previous_outputs=previous)
    assert mocks_seen == []


@pytest.mark.parametrize(
    ("bucket", "key"),
    [
        ({"name": "my-own-bucket"}, "bucket.name"),
        (
            {
                "provider": "s3Compatible",
                "endpoint": "https://s3.internal",
                "name": "other-store",
                "credentialsSecret": {"name": "s"},
            },
            "bucket.provider",
        ),
        ({"objectLock": {"mode": "GOVERNANCE", "days": 30}}, "bucket.objectLock"),
    ],
)
def test_moving_the_archive_or_replacing_its_bucket_is_refused(
    dev_config: dict[str, Any], bucket: dict[str, Any], key: str
) -> None:
    after = {**dev_config, "pgpitr:bucket": bucket}
    if bucket.get("provider") == "s3Compatible":
        after.pop("pgpitr:identity", None)
    refusal = redeploy(dev_config, after)
    assert refusal is not None and refusal.startswith(f"invalid stack config: pgpitr:{key}: cannot")


def test_object_lock_mode_and_days_may_change() -> None:
    locked = DeployedSettings("database", "aws", None, object_lock=True)
    assert refusals(locked, DeployedSettings("database", "aws", None, object_lock=True), "dev") == []


def test_a_new_or_destroyed_stack_has_no_record() -> None:
    assert DeployedSettings.from_output(None) is None
    assert DeployedSettings.from_output({"format": 999}) is None


def test_a_key_the_archive_needs_must_stay_readable(dev_config: dict[str, Any]) -> None:
    encrypted = {**dev_config, "pgpitr:backup": {**dev_config["pgpitr:backup"], "encryption": {"method": "libsodium"}}}
    turned_off = redeploy(encrypted, dev_config)
    assert turned_off is not None and turned_off.startswith("invalid stack config: pgpitr:backup.encryption: ")
    assert "list postgres-backup-encryption in backup.retiredEncryptionSecrets" in turned_off
    kept = {
        **dev_config,
        "pgpitr:backup": {**dev_config["pgpitr:backup"], "retiredEncryptionSecrets": ["postgres-backup-encryption"]},
    }
    assert redeploy(encrypted, kept) is None
    rotated = {
        **dev_config,
        "pgpitr:backup": {
            **dev_config["pgpitr:backup"],
            "encryption": {"method": "libsodium", "existingSecret": "key-2027"},
            "retiredEncryptionSecrets": ["postgres-backup-encryption"],
        },
    }
    assert redeploy(encrypted, rotated) is None
    dropped = {**rotated, "pgpitr:backup": {**rotated["pgpitr:backup"], "retiredEncryptionSecrets": []}}
    assert redeploy(encrypted, dropped) is not None


def test_turning_encryption_on_needs_nothing_retired(dev_config: dict[str, Any]) -> None:
    encrypted = {**dev_config, "pgpitr:backup": {**dev_config["pgpitr:backup"], "encryption": {"method": "libsodium"}}}
    assert redeploy(dev_config, encrypted) is None


def with_encryption(config: dict[str, Any], **encryption: Any) -> dict[str, Any]:
    backup = {**config["pgpitr:backup"], "encryption": encryption} if encryption else config["pgpitr:backup"]
    return {**config, "pgpitr:backup": backup}


def deploy_in_turn(*configs: dict[str, Any]) -> dict[str, Any]:
    """The outputs of `pulumi up` with each config in turn on one stack."""
    previous: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for config in configs:
        outputs = run_program(config, previous_outputs=previous).outputs
        previous = {OUTPUT_NAME: outputs["deployed_settings"]}
    return outputs


def test_the_outputs_name_the_archive_locations_the_deployments_opened(dev_config: dict[str, Any]) -> None:
    plain = dev_config
    generated = with_encryption(dev_config, method="libsodium")
    own_key = {
        **with_encryption(dev_config, method="libsodium", existingSecret="backup-key-2027"),
    }
    own_key["pgpitr:backup"]["retiredEncryptionSecrets"] = ["postgres-backup-encryption"]

    first = deploy_in_turn(plain)
    prefix = first["walg_s3_prefix"]
    assert first["archive_locations"] == {
        "manifest": f"{prefix}.locations/manifest.json",
        "current": {"number": 1, "prefix": prefix, "encryption": "no client-side encryption"},
        "earlier": [],
    }

    # An ordinary redeploy opens nothing; each change of the encryption opens one more.
    locations = deploy_in_turn(plain, plain, generated, generated, own_key)["archive_locations"]
    assert locations["current"] == {
        "number": 3,
        "prefix": f"{prefix}.locations/3",
        "encryption": "libsodium with the key in Secret backup-key-2027",
    }
    assert [(earlier["number"], earlier["prefix"], earlier["encryption"]) for earlier in locations["earlier"]] == [
        (2, f"{prefix}.locations/2", "libsodium with the key in Secret postgres-backup-encryption"),
        (1, prefix, "no client-side encryption"),
    ]


def test_settings_that_come_back_open_a_location_of_their_own() -> None:
    plain, sodium = LocationSettings(), LocationSettings("libsodium", "key-a")
    assert opened_locations((), plain) == (plain,)
    assert opened_locations((plain,), plain) == (plain,)
    assert opened_locations((plain, sodium), plain) == (plain, sodium, plain)


def test_a_volume_may_grow_but_not_shrink(dev_config: dict[str, Any]) -> None:
    small = {**dev_config, "pgpitr:storage": {"size": "20Gi"}}
    assert redeploy(small, {**dev_config, "pgpitr:storage": {"size": "30Gi"}}) is None
    refusal = redeploy({**dev_config, "pgpitr:storage": {"size": "30Gi"}}, small)
    assert refusal is not None and "\n" not in refusal
    assert refusal.startswith("invalid stack config: pgpitr:storage.size: cannot shrink a deployed volume")
    assert "(30Gi -> 20Gi)" in refusal
    # The same size written another way is no change.
    assert (
        redeploy(
            {**dev_config, "pgpitr:storage": {"size": "1Ti"}}, {**dev_config, "pgpitr:storage": {"size": "1024Gi"}}
        )
        is None
    )


def test_a_storage_class_change_is_refused(dev_config: dict[str, Any]) -> None:
    fast = {**dev_config, "pgpitr:storage": {"size": "50Gi", "storageClass": "fast"}}
    refusal = redeploy(dev_config, fast)
    assert refusal is not None and "\n" not in refusal
    assert refusal.startswith("invalid stack config: pgpitr:storage.storageClass: cannot change on a deployed stack")
    assert "((the cluster default) -> fast)" in refusal
    assert redeploy(fast, {**fast, "pgpitr:storage": {"size": "60Gi", "storageClass": "fast"}}) is None


def test_a_record_without_storage_refuses_no_storage_change() -> None:
    """Stacks deployed before the record held the storage settings: nothing to compare."""
    older = DeployedSettings(namespace="database", bucket_provider="aws", bucket_name=None, object_lock=False)
    newer = DeployedSettings(
        namespace="database",
        bucket_provider="aws",
        bucket_name=None,
        object_lock=False,
        storage_size="1Gi",
        storage_class="x",
    )
    assert refusals(older, newer, "dev") == []
    assert DeployedSettings.from_output(newer.output()) == newer


def test_a_major_version_change_is_refused_until_there_is_an_upgrade(dev_config: dict[str, Any]) -> None:
    refusal = redeploy({**dev_config, "pgpitr:postgresVersion": 16}, {**dev_config, "pgpitr:postgresVersion": 17})
    assert refusal is not None and "\n" not in refusal
    assert refusal.startswith("invalid stack config: pgpitr:postgresVersion: cannot change on a deployed stack yet")
    assert "(16 -> 17)" in refusal
