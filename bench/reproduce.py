"""python -m bench.reproduce COMMITTED NEW [--tolerance 0.2]: does a second `make bench`
reproduce the committed results? Compares the ratios the goals are stated in (WAL-G
against the limit and against pgBackRest, for backup and restore, at every scale both
runs measured), and RPO against archiveTimeout. Prints one JSON object; exits 1 when a
ratio moved by more than the tolerance (relative), 2 on unusable input."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_TOLERANCE = 0.2
COMPARED = (("backup", "raw"), ("backup", "pgbackrest"), ("restore", "raw"), ("restore", "pgbackrest"))
"""(operation, against): WAL-G's median over the other's."""


def median_seconds(scale_entry: Mapping[str, Any], operation: str, tool: str) -> float:
    timing = scale_entry[f"{operation}_s"][tool]
    return float(timing["total"]["median"] if operation == "restore" else timing["median"])


def ratios(results: Mapping[str, Any]) -> dict[str, float]:
    """`walg/<against> <operation> @<scale>` -> ratio, and `rpo/archive_timeout`."""
    found: dict[str, float] = {}
    for entry in results["growth"]:
        for operation, against in COMPARED:
            walg = median_seconds(entry, operation, "walg")
            found[f"walg/{against} {operation} @{entry['scale']}"] = walg / median_seconds(entry, operation, against)
    found["rpo/archive_timeout"] = float(results["rpo_max_s"]) / float(results["archive_timeout_s"])
    return found


def compare(committed: Mapping[str, Any], new: Mapping[str, Any], tolerance: float) -> dict[str, Any]:
    before, after = ratios(committed), ratios(new)
    rows = {}
    for key in sorted(before.keys() & after.keys()):
        change = after[key] / before[key] - 1
        rows[key] = {
            "committed": round(before[key], 3),
            "new": round(after[key], 3),
            "change": round(change, 3),
            "ok": abs(change) <= tolerance,
        }
    return {
        "ok": bool(rows) and all(row["ok"] for row in rows.values()),
        "tolerance": tolerance,
        "ratios": rows,
        "not_compared": sorted(before.keys() ^ after.keys()),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reproduce", description=__doc__)
    parser.add_argument("committed", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    args = parser.parse_args(argv)
    try:
        committed, new = (json.loads(path.read_text()) for path in (args.committed, args.new))
        report = compare(committed, new, args.tolerance)
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError) as error:
        print(f"bench.reproduce: cannot compare {args.committed} and {args.new}: {error!r}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
