"""results.json's headline: backup, restore and RPO figures of each tool, as medians at the largest size
measured, with their spread ([fastest, slowest] run) under `spread`."""

from __future__ import annotations

from typing import Any

from bench.stats import Stat

TOOLS = ("walg", "pgbackrest", "raw")
"""`raw` is the limit: tar + lz4 + one upload; download + untar + replay from local disk."""


def headline(largest: dict[str, Any]) -> dict[str, Any]:
    """`<tool>_backup_s`, `<tool>_restore_s` (fetch plus replay), `<tool>_fetch_s`, `<tool>_replay_s`."""
    values: dict[str, Any] = {"scale": largest["scale"], "data_bytes": largest["data_bytes"]}
    spread: dict[str, list[float]] = {}

    def put(key: str, stat: Stat) -> None:
        values[key] = stat["median"]
        spread[key] = [stat["min"], stat["max"]]

    for tool in TOOLS:
        put(f"{tool}_backup_s", largest["backup_s"][tool])
        restore = largest["restore_s"][tool]
        put(f"{tool}_restore_s", restore["total"])
        put(f"{tool}_fetch_s", restore["fetch"])
        put(f"{tool}_replay_s", restore["replay"])
    values["spread"] = spread
    return values
