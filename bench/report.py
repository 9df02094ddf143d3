"""bench/results.json, a Markdown table and a PNG chart from one benchmark run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

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
)


def ratio(value: float, limit: float) -> str:
    return f"{value / limit:.2f}x" if limit else "n/a"


def markdown(results: dict[str, Any]) -> str:
    gib = results["data_bytes"] / 1024**3
    lines = [
        f"Database: pgbench scale {results['scale']}, {gib:.2f} GiB; storage: S3 API (moto over TLS) on loopback;"
        f" {results['machine']}.",
        "",
        "| | WAL-G (pgpitr defaults) | pgBackRest | raw limit (tar + lz4) | WAL-G vs limit |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| backup (s) | {results['walg_backup_s']:.1f} | {results['pgbackrest_backup_s']:.1f} |"
        f" {results['raw_backup_s']:.1f} | {ratio(results['walg_backup_s'], results['raw_backup_s'])} |",
        f"| restore (s) | {results['walg_restore_s']:.1f} | {results['pgbackrest_restore_s']:.1f} |"
        f" {results['raw_restore_s']:.1f} | {ratio(results['walg_restore_s'], results['raw_restore_s'])} |",
        "",
        f"RPO under a steady load: worst commit-to-storage delay {results['rpo_max_s']:.1f} s"
        f" with archive_timeout {results['archive_timeout_s']} s.",
        "",
        "| compression | backup (s) | stored (MiB) | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for method, row in results["compression"].items():
        lines.append(
            f"| {method} | {row['seconds']:.1f} | {row['bytes'] / 1024**2:.1f} |"
            f" {results['data_bytes'] / max(row['bytes'], 1):.2f} |"
        )
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    figure, (times, sizes) = plt.subplots(1, 2, figsize=(11, 4))
    tools = ["WAL-G", "pgBackRest", "raw limit"]
    backup = [results["walg_backup_s"], results["pgbackrest_backup_s"], results["raw_backup_s"]]
    restore = [results["walg_restore_s"], results["pgbackrest_restore_s"], results["raw_restore_s"]]
    positions = range(len(tools))
    times.bar([p - 0.2 for p in positions], backup, width=0.4, label="backup")
    times.bar([p + 0.2 for p in positions], restore, width=0.4, label="restore")
    times.set_xticks(list(positions), tools)
    times.set_ylabel("seconds")
    times.set_title("Backup and restore")
    times.legend()
    methods = list(results["compression"])
    sizes.bar(methods, [results["compression"][m]["bytes"] / 1024**2 for m in methods])
    sizes.set_ylabel("MiB stored")
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
