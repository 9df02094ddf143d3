"""Reading `wal-g wal-verify integrity timeline --json`: is the WAL chain from the oldest
backup to now complete, and if not, which segments are missing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

LOST = "MISSING_LOST"
STILL_ARRIVING = ("MISSING_DELAYED", "MISSING_UPLOADING")
"""The newest segments may still be on their way; WAL-G reports them as a warning."""


@dataclass(frozen=True)
class SegmentRange:
    timeline: int
    start: str
    end: str
    count: int
    status: str

    def describe(self) -> str:
        span = self.start if self.start == self.end else f"{self.start}..{self.end}"
        return f"{span} ({self.count} segment{'s' if self.count != 1 else ''}, {self.status})"


@dataclass
class ChainReport:
    integrity: str
    timeline: str
    missing: list[SegmentRange] = field(default_factory=list)
    arriving: list[SegmentRange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """FAILURE in either check breaks recovery; a WARNING (segments still arriving) does not."""
        return self.integrity in ("OK", "WARNING") and self.timeline in ("OK", "WARNING") and not self.missing

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "integrity": self.integrity,
            "timeline": self.timeline,
            "missing": [r.describe() for r in self.missing],
            "still_arriving": [r.describe() for r in self.arriving],
        }


def _lower_keys(value: dict[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in value.items()}


def parse_wal_verify(text: str) -> ChainReport:
    raw = {str(k).lower(): _lower_keys(v) for k, v in json.loads(text).items()}
    if "integrity" not in raw or "timeline" not in raw:
        raise ValueError("wal-verify output has no integrity and timeline results")
    report = ChainReport(integrity=str(raw["integrity"]["status"]), timeline=str(raw["timeline"]["status"]))
    for row in raw["integrity"].get("details") or []:
        segment = _lower_keys(row)
        found = SegmentRange(
            timeline=int(segment["timeline_id"]),
            start=str(segment["start_segment"]),
            end=str(segment["end_segment"]),
            count=int(segment["segments_count"]),
            status=str(segment["status"]),
        )
        if found.status == LOST:
            report.missing.append(found)
        elif found.status in STILL_ARRIVING:
            report.arriving.append(found)
    return report
