"""Accounting for acknowledged commits after a fault: what a restore holds of what a writer
(tests.support.workload.AckedWriter) was told was committed, the chain's state, the numbers."""

from __future__ import annotations

import sys

from drill import postgres
from drill.deployment import DrillDeployment
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget
from tests.support.workload import TABLE, AckedWriter


def restored_acked_ids(dsn: str, writer: AckedWriter) -> set[int]:
    """The ids `writer` wrote that the database at `dsn` holds (earlier writers' rows left out)."""
    with postgres.connect(dsn) as conn:
        rows = conn.execute(f"SELECT id FROM {TABLE} WHERE id >= %s", [writer.first_id])
        return {int(str(row[0])) for row in rows}


def latest_holds_every_acknowledged(stack: DrillDeployment, writer: AckedWriter) -> tuple[set[int], set[int]]:
    """Restores the archive's end on a new copy (what storage holds, nothing else) and
    checks that every commit `writer` saw acknowledged is there, and nothing nobody wrote.
    Returns (acknowledged, restored); the copy is removed."""
    latest = stack.restore(RecoveryTarget.parse("latest", None), RecoveryOptions())
    try:
        restored = restored_acked_ids(stack.state.dsn(latest), writer)
    finally:
        stack.remove_restored(latest)
    acknowledged = set(writer.acknowledged)
    assert acknowledged <= restored, f"lost acknowledged commits: {sorted(acknowledged - restored)[:10]}"
    assert restored - acknowledged <= writer.in_flight, "rows nobody wrote"
    return acknowledged, restored


def wait_until_archived(stack: DrillDeployment, timeout: float = 600) -> None:
    """Every segment up to the current one is in storage (switching out the current one)."""
    stack.switch_wal_and_wait_archived(timeout=timeout)


def chain_intact(stack: DrillDeployment) -> None:
    summary = stack.check_wal_chain()
    assert summary["ok"] is True and summary["missing"] == [], summary


def counts(fault: str, **numbers: int) -> None:
    """The test's numbers, on stderr (shown with `pytest -s`, and with a failure)."""
    print(f"{fault}: " + ", ".join(f"{key}={value}" for key, value in numbers.items()), file=sys.stderr)
