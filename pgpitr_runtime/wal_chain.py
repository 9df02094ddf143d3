"""Reading `wal-g wal-verify integrity timeline --json`: is the WAL chain from the oldest
backup to now complete, and if not, which segments are missing.

WAL-G labels missing segments just behind the newest one `MISSING_UPLOADING` (or
`MISSING_DELAYED`): it cannot tell a gap from an upload in flight. PostgreSQL archives in
order (pgarch.c takes the oldest `.ready` file first), so a missing segment older than a
segment that *is* in storage, or older than the primary's `last_archived_wal`, will never
arrive: it is lost, whatever WAL-G calls it. Only the missing segments after both are
still on their way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

LOST = "MISSING_LOST"
FOUND = "FOUND"
STILL_ARRIVING = ("MISSING_DELAYED", "MISSING_UPLOADING")
"""The newest segments may still be on their way; WAL-G reports them as a warning."""
SEGMENT_NAME = re.compile(r"^[0-9A-F]{24}$")
"""A WAL segment's file name: timeline, log and segment number, 8 hex digits each. Names
of one server's segments sort in the order PostgreSQL writes (and archives) them."""


@dataclass(frozen=True)
class SegmentRange:
    timeline: int
    start: str
    end: str
    count: int
    status: str
    behind: str = ""
    """For a range WAL-G took for still uploading: the archived segment it is older than."""

    def describe(self) -> str:
        span = self.start if self.start == self.end else f"{self.start}..{self.end}"
        text = f"{span} ({self.count} segment{'s' if self.count != 1 else ''}, {self.status}"
        if self.behind:
            text += f", older than the archived {self.behind}: never to arrive"
        return text + ")"


@dataclass
class ChainReport:
    integrity: str
    timeline: str
    missing: list[SegmentRange] = field(default_factory=list)
    arriving: list[SegmentRange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """FAILURE in either check breaks recovery, and so does any lost segment; only
        segments newer than everything archived may still be missing."""
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


def newest_archived(ranges: list[SegmentRange], last_archived_wal: str | None) -> str:
    """The newest segment known to be archived: the newest one found in storage, or the
    primary's `pg_stat_archiver.last_archived_wal` if that is newer (history and
    `.partial` files are not segments and do not count)."""
    candidates = [r.end for r in ranges if r.status == FOUND]
    if last_archived_wal and SEGMENT_NAME.match(last_archived_wal):
        candidates.append(last_archived_wal)
    return max(candidates, default="")


def parse_wal_verify(text: str, last_archived_wal: str | None = None) -> ChainReport:
    raw = {str(k).lower(): _lower_keys(v) for k, v in json.loads(text).items()}
    if "integrity" not in raw or "timeline" not in raw:
        raise ValueError("wal-verify output has no integrity and timeline results")
    report = ChainReport(integrity=str(raw["integrity"]["status"]), timeline=str(raw["timeline"]["status"]))
    ranges = []
    for row in raw["integrity"].get("details") or []:
        segment = _lower_keys(row)
        ranges.append(
            SegmentRange(
                timeline=int(segment["timeline_id"]),
                start=str(segment["start_segment"]),
                end=str(segment["end_segment"]),
                count=int(segment["segments_count"]),
                status=str(segment["status"]),
            )
        )
    archived = newest_archived(ranges, last_archived_wal)
    for found in ranges:
        if found.status == LOST:
            report.missing.append(found)
        elif found.status in STILL_ARRIVING:
            if found.start <= archived:
                report.missing.append(SegmentRange(**{**vars(found), "behind": archived}))
            else:
                report.arriving.append(found)
    return report


def listed_segments(listing: str) -> set[str]:
    """WAL segment names among the objects of a `wal-g st ls` table (its last column is
    an object's name, compressed: 000000010000000000000003.lz4; history and partial files
    are not segments)."""
    found = set()
    for line in listing.splitlines():
        for column in line.split():
            name = column.rsplit("/", 1)[-1]
            if SEGMENT_NAME.match(name.split(".", 1)[0]) and ".partial" not in name:
                found.add(name.split(".", 1)[0])
    return found
