"""The full PITR drill: writes in phases, two base backups, one target of every kind at
a known place, then a restore to each, checked row by row.

    P1 | backup B1 | P2 | time T | P3 | lsn L | backup B2 | P4 (xid X in its last
    transaction) | P5 | restore point N | P6 | archive

Expected: time T -> P1..P2 from B1 (T is earlier than the newest backup, so the older
one must be chosen); lsn L -> P1..P3 from B1; xid X -> P1..P4; name N -> P1..P5;
immediate from B1 -> P1; latest -> P1..P6.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from drill import postgres
from drill.deployment import DrillDeployment, log
from harness.processes import HarnessError
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget

ROWS_PER_PHASE = 5
RESTORE_POINT = "drill-after-phase-5"
TABLE = "pgpitr_drill_rows"


@dataclass
class RestoreResult:
    target: str
    backup: str
    expected_backup: str | None
    rows_expected: int
    rows_found: int
    missing: list[int]
    unexpected: list[int]
    seconds: float

    @property
    def ok(self) -> bool:
        right_backup = self.expected_backup is None or self.backup == self.expected_backup
        return right_backup and not self.missing and not self.unexpected


@dataclass
class DrillReport:
    backups: dict[str, str] = field(default_factory=dict)
    backup_seconds: list[float] = field(default_factory=list)
    archive_lag_seconds: list[float] = field(default_factory=list)
    restores: list[RestoreResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.restores) and all(r.ok for r in self.restores)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "backups": self.backups,
            "backup_seconds": [round(s, 2) for s in self.backup_seconds],
            "archive_lag_seconds": [round(s, 2) for s in self.archive_lag_seconds],
            "restores": [asdict(r) | {"ok": r.ok, "seconds": round(r.seconds, 2)} for r in self.restores],
        }

    def table(self) -> str:
        lines = [f"{'target':<38} {'backup':<30} {'expected':>8} {'found':>6} {'seconds':>8}  result"]
        for r in self.restores:
            lines.append(
                f"{r.target:<38} {r.backup:<30} {r.rows_expected:>8} {r.rows_found:>6} {r.seconds:>8.1f}  "
                + ("ok" if r.ok else f"FAILED missing={r.missing} unexpected={r.unexpected}")
            )
        return "\n".join(lines)


class Workload:
    """Writes rows in phases on the primary and remembers which phase each id belongs to."""

    def __init__(self, stack: DrillDeployment) -> None:
        self.stack = stack
        self.phases: dict[int, list[int]] = {}

    def create_table(self) -> None:
        with postgres.connect(self.stack.primary_dsn()) as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, phase int NOT NULL,"
                " committed_at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )

    def write_phase(self, phase: int, rows: int = ROWS_PER_PHASE) -> str:
        """One transaction per row; returns the xid of the phase's last transaction."""
        ids: list[int] = []
        xid = ""
        with postgres.connect(self.stack.primary_dsn()) as conn:
            for _ in range(rows):
                with conn.transaction():
                    row = conn.execute(
                        f"INSERT INTO {TABLE} (phase) VALUES (%s) RETURNING id, pg_current_xact_id()::text", [phase]
                    ).fetchone()
                    assert row is not None
                    ids.append(int(str(row[0])))
                    xid = str(row[1])
        self.phases[phase] = ids
        return xid

    def ids_through(self, phase: int) -> set[int]:
        return {i for p, ids in self.phases.items() if p <= phase for i in ids}

    def scalar(self, sql: str) -> str:
        with postgres.connect(self.stack.primary_dsn()) as conn:
            row = conn.execute(sql).fetchone()
            assert row is not None
            return str(row[0])


def restored_ids(stack: DrillDeployment, dsn: str) -> set[int]:
    with postgres.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE]).fetchone()
        if not exists or not exists[0]:
            return set()
        return {int(str(row[0])) for row in conn.execute(f"SELECT id FROM {TABLE}")}


def check_restore(
    stack: DrillDeployment,
    report: DrillReport,
    target: RecoveryTarget,
    expected: set[int],
    backup: str = "auto",
    expected_backup: str | None = None,
) -> RestoreResult:
    label = f"{target.kind} {target.value or ''}".strip()
    log(f"restoring to {label} (backup {backup})")
    started = time.monotonic()
    instance = stack.restore(target, RecoveryOptions(), backup)
    seconds = time.monotonic() - started
    found = restored_ids(stack, stack.state.dsn(instance))
    result = RestoreResult(
        target=label,
        backup=instance.backup or "?",
        expected_backup=expected_backup,
        rows_expected=len(expected),
        rows_found=len(found),
        missing=sorted(expected - found),
        unexpected=sorted(found - expected),
        seconds=seconds,
    )
    report.restores.append(result)
    log(f"  {'ok' if result.ok else 'FAILED'}: {len(found)} rows from {result.backup} in {seconds:.1f}s")
    stack.remove_restored(instance)
    return result


def timed_backup(stack: DrillDeployment, report: DrillReport, label: str) -> str:
    started = time.monotonic()
    name = stack.backup()
    report.backup_seconds.append(time.monotonic() - started)
    report.backups[label] = name
    return name


def run_drill(stack: DrillDeployment) -> DrillReport:
    report = DrillReport()
    work = Workload(stack)
    work.create_table()

    work.write_phase(1)
    report.archive_lag_seconds.append(stack.switch_wal_and_wait_archived())
    b1 = timed_backup(stack, report, "B1")
    work.write_phase(2)
    time_target = work.scalar("SELECT clock_timestamp()::text")
    work.write_phase(3)
    lsn_target = work.scalar("SELECT pg_current_wal_lsn()::text")
    b2 = timed_backup(stack, report, "B2")
    xid_target = work.write_phase(4)
    work.write_phase(5)
    work.scalar(f"SELECT pg_create_restore_point('{RESTORE_POINT}')")
    work.write_phase(6)
    report.archive_lag_seconds.append(stack.switch_wal_and_wait_archived())

    time_value = time_target.replace(" ", "T", 1)
    checks: list[tuple[RecoveryTarget, set[int], str, str | None]] = [
        (RecoveryTarget.parse("time", time_value), work.ids_through(2), "auto", b1),
        (RecoveryTarget.parse("lsn", lsn_target), work.ids_through(3), "auto", b1),
        (RecoveryTarget.parse("xid", xid_target), work.ids_through(4), "auto", b2),
        (RecoveryTarget.parse("name", RESTORE_POINT), work.ids_through(5), "auto", b2),
        (RecoveryTarget.parse("immediate", None), work.ids_through(1), b1, b1),
        (RecoveryTarget.parse("latest", None), work.ids_through(6), "auto", b2),
    ]
    for target, expected, backup, expected_backup in checks:
        check_restore(stack, report, target, expected, backup, expected_backup)
    if not report.ok:
        failed = [r.target for r in report.restores if not r.ok]
        raise HarnessError(f"restores did not match the rows committed before their target: {', '.join(failed)}")
    return report
