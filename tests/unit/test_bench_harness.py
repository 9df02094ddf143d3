"""The benchmark's arithmetic and reports, without running anything: WAL file names, the
medians and spreads, results.json's headline keys, and the table and chart."""

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as bench_main
from bench import seaweedfs
from bench import storage as storage_module
from bench.__main__ import parse_args
from bench.report import REQUIRED_KEYS, markdown, write
from bench.results import headline
from bench.stats import Stat, rate, summary
from bench.storage import MotoStorage, SeaweedfsPorts, SeaweedfsStorage, s3_identities, storage_server
from bench.throughput import Sample, summarise
from bench.versions import BENCH_SEAWEEDFS
from bench.wal import segment_names
from drill.environment import DRILL_ACCESS_KEY_ID, DRILL_SECRET_ACCESS_KEY
from harness.processes import HarnessError
from harness.toolchain import ToolchainError

SEGMENT = 16 * 1024**2
TOOLS = ("walg", "pgbackrest", "raw")


def test_segment_names_cover_both_ends_and_cross_a_log_boundary() -> None:
    # 0/FF000028 is in the last segment of log 0; 1/1000000 in the second of log 1.
    names = segment_names("00000001", 0xFF000028, (1 << 32) + 0x1000000, SEGMENT)
    assert names == ["0000000100000000000000FF", "000000010000000100000000", "000000010000000100000001"]


def test_summary_is_the_median_with_the_fastest_and_slowest_run() -> None:
    assert summary([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "runs": [3.0, 1.0, 2.0]}
    with pytest.raises(ValueError):
        summary([])


def test_rate_is_in_mib_per_second() -> None:
    assert rate(32 * 1024**2, 2.0) == 16.0
    assert rate(1, 0) == 0.0


def test_a_backlog_that_keeps_growing_means_archiving_falls_behind() -> None:
    growing = [Sample(float(t), t * SEGMENT, t, 10 + t // 2) for t in range(20)]
    result = summarise(growing, SEGMENT)
    assert not result["keeps_up"] and result["backlog_max"] == 19
    assert result["wal_mb_s"] == 16.0 and result["archive_mb_s"] == 7.58
    steady = [Sample(float(t), t * SEGMENT, t % 2, 10 + t) for t in range(20)]
    assert summarise(steady, SEGMENT)["keeps_up"]


def stat(value: float) -> Stat:
    return summary([value * 0.9, value, value * 1.2])


def point(scale: int) -> dict[str, Any]:
    return {
        "scale": scale,
        "data_bytes": scale * 16 * 1024**2,
        "raw_backup_bytes": scale * 1024**2,
        "replay_wal_bytes": 1024**3,
        "wal_from_backup_mb": {"raw": 1100.0, "pgbackrest": 1080.0, "walg": 1050.0},
        "target_time": "2026-01-01T00:00:00Z",
        "backup_s": {tool: stat(scale * factor) for tool, factor in zip(TOOLS, (0.2, 0.3, 0.1), strict=True)},
        "restore_s": {tool: {part: stat(scale * 0.5) for part in ("fetch", "replay", "total")} for tool in TOOLS},
        "raw_backup_upload_mb_s": 40.0,
    }


def results() -> dict[str, Any]:
    growth = [point(10), point(50)]
    archiving = {
        load: {
            "seconds": 300.0,
            "wal_mb_s": 20.0,
            "archive_mb_s": 19.5,
            "backlog_start": 0,
            "backlog_end": 1,
            "backlog_max": 2,
            "backlog_growth": 0.2,
            "keeps_up": True,
            "archive_failures": 0,
            "drain_s": 1.0,
        }
        for load in ("batched", "md5_text")
    }
    return {
        **headline(growth[-1]),
        "rpo_max_s": 61.0,
        "archive_timeout_s": 60,
        "compression": {m: {"bytes": 1024**2, "backup_s": stat(2), "restore_s": stat(1)} for m in ("lz4", "zstd")},
        "archive_mb_s": 19.5,
        "storage_upload_mb_s": 80.0,
        "storage_download_mb_s": 150.0,
        "growth": growth,
        "archiving": archiving,
        "storage": {"megabytes": 1024},
        "storage_server": "seaweedfs 4.53 (v0.0.0-20261109003541-7506e5f91cd6)",
        "checkpoint": "fast",
        "runs": 3,
        "rpo_rate_tps": 50,
        "rpo_seconds": 180,
        "walg_version": "v3.0.9",
        "machine": "2 cores",
    }


def test_headline_keys_are_the_medians_of_the_largest_size() -> None:
    values = results()
    assert values["scale"] == 50
    assert values["walg_backup_s"] == 10.0 and values["spread"]["walg_backup_s"] == [9.0, 12.0]
    assert values["raw_restore_s"] == values["growth"][-1]["restore_s"]["raw"]["total"]["median"]
    assert all(key in values for key in REQUIRED_KEYS)


def test_report_shows_every_size_and_ratio(tmp_path: Path) -> None:
    text = markdown(results())
    assert "| 10 |" in text and "| 50 |" in text
    assert "Storage (seaweedfs 4.53 (v0.0.0-20261109003541-7506e5f91cd6) on loopback)" in text
    assert "| backup | 10.0 (9.0-12.0) | 15.0 (13.5-18.0) | 5.0 (4.5-6.0) | 2.00x | 0.67x |" in text
    write(results(), tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"results.json", "results.md", "results.png"}


def test_results_missing_a_key_are_refused(tmp_path: Path) -> None:
    broken = results()
    del broken["archive_mb_s"]
    with pytest.raises(ValueError, match="archive_mb_s"):
        write(broken, tmp_path)


# The S3 server: SeaweedFS built from the pinned module version, on loopback with TLS.

WEED = Path("/opt/weed")
PORTS = SeaweedfsPorts(
    s3=9001, s3_grpc=9002, master=9003, master_grpc=9004, volume=9005, volume_grpc=9006, filer=9007, filer_grpc=9008
)


def flags(argv: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("-").split("=", 1) for arg in argv if arg.startswith("-") and "=" in arg)


def test_seaweedfs_takes_the_drill_credentials_with_every_right() -> None:
    config = json.loads(json.dumps(s3_identities(DRILL_ACCESS_KEY_ID, DRILL_SECRET_ACCESS_KEY)))
    [identity] = config["identities"]
    assert identity["credentials"] == [{"accessKey": DRILL_ACCESS_KEY_ID, "secretKey": DRILL_SECRET_ACCESS_KEY}]
    assert {"Admin", "Read", "List", "Write"} <= set(identity["actions"])


def test_weed_listens_on_loopback_only_at_the_chosen_ports_with_tls(tmp_path: Path) -> None:
    storage = SeaweedfsStorage(tmp_path, weed=WEED)
    argv = storage.server_argv(PORTS)
    assert argv[:3] == [str(WEED), "-logtostderr", "server"], "its log in the storage's folder, not in /tmp"
    given = flags(argv)
    assert given["ip"] == given["ip.bind"] == "127.0.0.1"
    ports = {name: int(value) for name, value in given.items() if ".port" in name}
    assert ports == {
        "s3.port": 9001,
        "s3.port.grpc": 9002,
        "master.port": 9003,
        "master.port.grpc": 9004,
        "volume.port": 9005,
        "volume.port.grpc": 9006,
        "filer.port": 9007,
        "filer.port.grpc": 9008,
        "s3.port.iceberg": 0,
        "s3.port.lance": 0,
    }, "every listener at a chosen port (0: not started), none at weed's defaults"
    assert "s3.port.https" not in given, "TLS on the S3 port itself"
    assert given["s3.cert.file"] == str(storage.certificate) and given["s3.key.file"] == str(storage.private_key)
    assert given["s3.config"] == str(storage.identities_file)
    assert given["master.telemetry"] == "false"
    assert {"-filer", "-s3"} <= set(argv)
    assert all(Path(given[name]).is_relative_to(tmp_path) for name in ("dir", "filer.localSocket", "s3.localSocket"))


def test_seaweedfs_ports_never_repeat_the_s3_port_or_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    probes = iter([9001, 9002, 9002, 9003, 9001, 9004, 9005, 9006, 9007, 9008])
    monkeypatch.setattr(storage_module, "free_port", lambda: next(probes))
    ports = SeaweedfsPorts.free(9001)
    assert sorted(dataclasses.astuple(ports)) == list(range(9001, 9009))


def test_the_storage_server_is_a_choice_and_seaweedfs_the_default(tmp_path: Path) -> None:
    assert parse_args([]).storage == "seaweedfs"
    assert parse_args(["--storage", "moto"]).storage == "moto"
    assert isinstance(storage_server("moto", tmp_path), MotoStorage)
    with pytest.raises(SystemExit):
        parse_args(["--storage", "minio"])


def test_weed_cache_key_follows_the_version_and_the_build_input() -> None:
    key = seaweedfs.build_key(BENCH_SEAWEEDFS)
    assert key.startswith(f"{BENCH_SEAWEEDFS.version}-")
    assert seaweedfs.build_key(BENCH_SEAWEEDFS) == key
    newer = dataclasses.replace(BENCH_SEAWEEDFS, version="v0.0.0-20270101000000-0123456789ab")
    assert seaweedfs.build_key(newer).startswith(f"{newer.version}-") and seaweedfs.build_key(newer) != key
    assert seaweedfs.build_key(dataclasses.replace(BENCH_SEAWEEDFS, release="9.99")) != key
    assert seaweedfs.weed_binary_path(BENCH_SEAWEEDFS).parent.name == key


def test_the_pinned_seaweedfs_is_one_module_version_and_its_commit() -> None:
    assert BENCH_SEAWEEDFS.commit == "7506e5f91cd6"
    assert BENCH_SEAWEEDFS.build_environment() == {
        "SEAWEEDFS_MODULE": f"github.com/seaweedfs/seaweedfs@{BENCH_SEAWEEDFS.version}",
        "SEAWEEDFS_RELEASE": BENCH_SEAWEEDFS.release,
    }


def test_a_failed_weed_build_is_one_line_naming_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "build-seaweedfs.sh"
    script.write_text("echo 'go: downloading chatter' >&2\necho 'build-seaweedfs.sh: the proxy said no' >&2\nexit 1\n")
    binary = tmp_path / "tools" / "weed"
    monkeypatch.setattr(seaweedfs, "BUILD_SCRIPT", script)
    monkeypatch.setattr(seaweedfs, "weed_binary_path", lambda release: binary)
    monkeypatch.setattr(shutil, "which", lambda program: f"/usr/bin/{program}")
    with pytest.raises(ToolchainError) as failure:
        seaweedfs.build_weed()
    message = str(failure.value)
    # The build ran in a partial folder beside the cache entry, kept with its log.
    assert message == (
        f"building SeaweedFS {BENCH_SEAWEEDFS.version} failed: the proxy said no"
        f" (full log: {binary.parent}.partial/build.log)"
    )
    assert not binary.exists()
    assert not binary.parent.exists(), "a failed build leaves no cache entry to be taken for a result"


def test_the_build_script_refuses_to_run_without_its_input(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(seaweedfs.BUILD_SCRIPT), str(tmp_path)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "SEAWEEDFS_MODULE is not set" in result.stderr
    assert not (tmp_path / "weed").exists()


def test_the_committed_results_are_complete_and_their_table_is_theirs() -> None:
    """bench/results.* come from one `make bench` at scale 50 or more; the table is what
    the report makes of that results.json (nobody edited one without the other)."""
    committed = Path(__file__).resolve().parents[2] / "bench"
    values = json.loads((committed / "results.json").read_text())
    assert all(key in values for key in REQUIRED_KEYS)
    assert values["scale"] >= 50 and values["runs"] >= 3 and values["data_bytes"] >= 500 * 2**20
    assert len(values["growth"]) >= 3
    assert (committed / "results.md").read_text() == markdown(values)


@pytest.mark.parametrize("keep", [False, True])
def test_the_scratch_directory_is_removed_unless_kept(
    keep: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"

    def failing_run(args: object, scales: list[int], directory: Path) -> dict[str, object]:
        (directory / "primary").mkdir(parents=True)
        raise HarnessError("the primary did not start")

    monkeypatch.setattr(bench_main, "run", failing_run)
    monkeypatch.setattr(bench_main, "exit_cleanly_on_sigterm", lambda: None)  # pytest keeps its own handler
    argv = ["--scales", "2", "--work", str(work), "--out", str(tmp_path / "out")] + (["--keep-work"] if keep else [])
    assert bench_main.main(argv) == 1
    assert work.exists() == keep
