"""The WAL chain report: a gap WAL-G takes for "still uploading" is lost when anything newer
was archived, because PostgreSQL archives in order."""

import json
from typing import Any

from pgpitr_runtime.wal_chain import parse_wal_verify

TL1 = "00000001000000000000000"


def segment(n: int) -> str:
    return f"{TL1}{n:X}"


def row(start: int, end: int, status: str) -> dict[str, Any]:
    return {
        "timeline_id": 1,
        "start_segment": segment(start),
        "end_segment": segment(end),
        "segments_count": end - start + 1,
        "status": status,
    }


def verify_output(*rows: dict[str, Any], integrity: str = "WARNING") -> str:
    """wal-verify's JSON as WAL-G v3.0.9 prints it (internal/databases/postgres/integrity_check_runner.go)."""
    return json.dumps(
        {
            "integrity": {"status": integrity, "details": list(rows)},
            "timeline": {"status": "OK", "details": {"current_timeline_id": 1}},
        }
    )


def test_missing_segments_after_the_newest_archived_are_still_arriving() -> None:
    report = parse_wal_verify(verify_output(row(1, 7, "FOUND"), row(8, 9, "MISSING_UPLOADING")), segment(7))
    assert report.ok
    assert [r.start for r in report.arriving] == [segment(8)]


def test_a_gap_behind_a_segment_in_storage_is_lost_whatever_walg_calls_it() -> None:
    """A restart during an outage removed segments 4 to 7; archiving went on from 8."""
    report = parse_wal_verify(
        verify_output(row(1, 3, "FOUND"), row(4, 7, "MISSING_UPLOADING"), row(8, 9, "FOUND")), segment(9)
    )
    assert not report.ok
    assert [(r.start, r.end) for r in report.missing] == [(segment(4), segment(7))]
    assert "never to arrive" in report.summary()["missing"][0]


def test_a_gap_older_than_the_primarys_last_archived_segment_is_lost() -> None:
    """The newest archived segment was itself deleted: storage alone shows nothing newer."""
    report = parse_wal_verify(verify_output(row(1, 5, "FOUND"), row(6, 6, "MISSING_UPLOADING")), segment(6))
    assert not report.ok and report.missing[0].behind == segment(6)
    report = parse_wal_verify(verify_output(row(1, 5, "FOUND"), row(6, 7, "MISSING_DELAYED")), segment(7))
    assert not report.ok and report.missing[0].behind == segment(7)
    report = parse_wal_verify(verify_output(row(1, 5, "FOUND"), row(6, 7, "MISSING_DELAYED")), segment(5))
    assert report.ok, "segments newer than everything archived are still on their way"


def test_without_the_primarys_position_storage_alone_decides() -> None:
    report = parse_wal_verify(verify_output(row(1, 3, "FOUND"), row(4, 5, "MISSING_UPLOADING")))
    assert report.ok
    report = parse_wal_verify(verify_output(row(1, 3, "FOUND"), row(4, 5, "MISSING_UPLOADING"), row(6, 6, "FOUND")), "")
    assert not report.ok


def test_history_and_partial_files_are_not_an_archived_position() -> None:
    output = verify_output(row(1, 3, "FOUND"), row(4, 5, "MISSING_UPLOADING"))
    assert parse_wal_verify(output, "00000002.history").ok
    assert parse_wal_verify(output, f"{segment(3)}.partial").ok


def test_walgs_own_lost_segments_stay_lost() -> None:
    report = parse_wal_verify(verify_output(row(1, 3, "FOUND"), row(4, 4, "MISSING_LOST"), integrity="FAILURE"))
    assert not report.ok and report.missing[0].status == "MISSING_LOST"
