"""bench/results.json, a Markdown table and a PNG chart (growth lines, restore fetch and
replay, compression) from one benchmark run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.stats import MIB, Stat

REQUIRED_KEYS = (
    "data_bytes",
    "walg_backup_s",
    "raw_backup_s",
    "pgbackrest_backup_s",
    "walg_restore_s",
    "raw_restore_s",
    "pgbackrest_restore_s",
    "rpo_max_s",
    "archive_timeout_s",
    "compression",
    "archive_mb_s",
    "storage_upload_mb_s",
    "storage_download_mb_s",
    "storage_server",
    "growth",
)
TOOLS = {"walg": "WAL-G (pgpitr defaults)", "pgbackrest": "pgBackRest", "raw": "limit"}
GIB = 1024**3


def ratio(value: float, limit: float) -> str:
    return f"{value / limit:.2f}x" if limit else "n/a"


def cell(stat: Stat) -> str:
    """median (fastest-slowest)"""
    if stat["min"] == stat["max"]:
        return f"{stat['median']:.1f}"
    return f"{stat['median']:.1f} ({stat['min']:.1f}-{stat['max']:.1f})"


def headline_tables(results: dict[str, Any]) -> list[str]:
    largest = results["growth"][-1]
    lines = [
        f"pgbench scale {largest['scale']}, {largest['data_bytes'] / GIB:.2f} GiB; restores replay"
        f" {largest['replay_wal_bytes'] / MIB:.0f} MB of WAL to a time target. Seconds, median of"
        f" {results['runs']} runs (fastest-slowest). Checkpoint: {results['checkpoint']}.",
        "",
        "| | " + " | ".join(TOOLS.values()) + " | WAL-G vs limit | WAL-G vs pgBackRest |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows: list[tuple[str, dict[str, Stat]]] = [("backup", largest["backup_s"])]
    for part in ("fetch", "replay", "total"):
        rows.append((f"restore: {part}", {tool: largest["restore_s"][tool][part] for tool in TOOLS}))
    for label, stats in rows:
        walg, pgbackrest, raw = (stats[tool]["median"] for tool in TOOLS)
        lines.append(
            f"| {label} | " + " | ".join(cell(stats[tool]) for tool in TOOLS) + f" | {ratio(walg, raw)} |"
            f" {ratio(walg, pgbackrest)} |"
        )
    return lines


def growth_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| scale | data (GiB) | backup WAL-G | backup pgBackRest | backup limit |"
        " restore WAL-G | restore pgBackRest | restore limit |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for point in results["growth"]:
        backups = " | ".join(f"{point['backup_s'][tool]['median']:.1f}" for tool in TOOLS)
        restores = " | ".join(f"{point['restore_s'][tool]['total']['median']:.1f}" for tool in TOOLS)
        lines.append(f"| {point['scale']} | {point['data_bytes'] / GIB:.2f} | {backups} | {restores} |")
    return lines


def archiving_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        f"RPO under {results['rpo_rate_tps']} tps for {results['rpo_seconds']} s: worst commit-to-storage delay"
        f" {results['rpo_max_s']:.1f} s with archive_timeout {results['archive_timeout_s']} s.",
        "",
        "| archiving load | WAL written (MB/s) | archived (MB/s) | backlog max / growth (segments) | keeps up |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for load, row in results["archiving"].items():
        lines.append(
            f"| {load} ({row['seconds']:.0f} s) | {row['wal_mb_s']:.1f} | {row['archive_mb_s']:.1f} |"
            f" {row['backlog_max']} / {row['backlog_growth']:+.1f} | {'yes' if row['keeps_up'] else 'no'} |"
        )
    storage = results["storage"]
    largest = results["growth"][-1]
    lines += [
        "",
        f"Storage ({results['storage_server']} on loopback), a plain {storage['megabytes']} MB multipart transfer:"
        f" upload {results['storage_upload_mb_s']:.1f} MB/s, download {results['storage_download_mb_s']:.1f} MB/s;"
        f" the limit's backup uploaded {largest['raw_backup_upload_mb_s']:.1f} MB/s of compressed data.",
    ]
    return lines


def compression_table(results: dict[str, Any], data_bytes: int) -> list[str]:
    lines = [
        "| WAL-G compression | backup (s) | fetch (s) | stored (MiB) | ratio |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for method, row in results["compression"].items():
        lines.append(
            f"| {method} | {cell(row['backup_s'])} | {cell(row['restore_s'])} | {row['bytes'] / MIB:.1f} |"
            f" {data_bytes / max(row['bytes'], 1):.1f} |"
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    sections = [
        [f"{results['machine']}; WAL-G {results['walg_version']}; MB = 2^20 bytes."],
        headline_tables(results),
        ["Growth (medians, seconds):", "", *growth_table(results)],
        archiving_lines(results),
        compression_table(results, results["data_bytes"]),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    figure, (growth, restore, sizes) = plt.subplots(1, 3, figsize=(15, 4.2))
    sizes_gib = [point["data_bytes"] / GIB for point in results["growth"]]
    for tool, label in TOOLS.items():
        backup = [point["backup_s"][tool]["median"] for point in results["growth"]]
        total = [point["restore_s"][tool]["total"]["median"] for point in results["growth"]]
        line = growth.plot(sizes_gib, backup, marker="o", label=f"{label}: backup")[0]
        growth.plot(sizes_gib, total, marker="s", linestyle="--", color=line.get_color(), label=f"{label}: restore")
    growth.set_xlabel("database size (GiB)")
    growth.set_ylabel("seconds (median)")
    growth.set_title("Growth with size")
    growth.legend(fontsize=7)

    largest = results["growth"][-1]
    names = [label.split(" ")[0] for label in TOOLS.values()]
    fetch = [largest["restore_s"][tool]["fetch"]["median"] for tool in TOOLS]
    replay = [largest["restore_s"][tool]["replay"]["median"] for tool in TOOLS]
    restore.bar(names, fetch, label="fetch base backup")
    restore.bar(names, replay, bottom=fetch, label="fetch + replay WAL")
    restore.set_ylabel("seconds (median)")
    restore.set_title(f"Restore at scale {largest['scale']}, {largest['replay_wal_bytes'] / MIB:.0f} MB WAL")
    restore.legend(fontsize=7)

    methods = list(results["compression"])
    positions = range(len(methods))
    sizes.bar(list(positions), [results["compression"][m]["bytes"] / MIB for m in methods], color="tab:gray")
    sizes.set_xticks(list(positions), methods)
    sizes.set_ylabel("MiB stored")
    times = sizes.twinx()
    times.plot(
        list(positions), [results["compression"][m]["backup_s"]["median"] for m in methods], "o-", label="backup s"
    )
    times.plot(
        list(positions), [results["compression"][m]["restore_s"]["median"] for m in methods], "s--", label="fetch s"
    )
    times.set_ylabel("seconds (median)")
    times.legend(fontsize=7)
    sizes.set_title("WAL-G compression")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(results: dict[str, Any], directory: Path) -> None:
    missing = [key for key in REQUIRED_KEYS if key not in results]
    if missing:
        raise ValueError(f"results lack {missing}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (directory / "results.md").write_text(markdown(results))
    chart(results, directory / "results.png")


if __name__ == "__main__":
    # python -m bench.report RESULTS.JSON OUT_DIR: redraw the table and chart.
    import sys

    write(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
