"""The benchmark's arithmetic and reports, without running anything: WAL file names, the
medians and spreads, results.json's headline keys, and the table and chart."""

from pathlib import Path
from typing import Any

import pytest

from bench.report import REQUIRED_KEYS, markdown, write
from bench.results import headline
from bench.stats import Stat, rate, summary
from bench.throughput import Sample, summarise
from bench.wal import segment_names

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
    assert "| backup | 10.0 (9.0-12.0) | 15.0 (13.5-18.0) | 5.0 (4.5-6.0) | 2.00x | 0.67x |" in text
    write(results(), tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"results.json", "results.md", "results.png"}


def test_results_missing_a_key_are_refused(tmp_path: Path) -> None:
    broken = results()
    del broken["archive_mb_s"]
    with pytest.raises(ValueError, match="archive_mb_s"):
        write(broken, tmp_path)
