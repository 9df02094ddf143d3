"""Cron schedule arithmetic for alerts: how long a CronJob may go without running."""

from datetime import UTC, datetime

from croniter import croniter

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def longest_gap_seconds(schedule: str, start: datetime | None = None, runs: int = 400) -> int:
    """The longest interval between two consecutive runs over the next `runs` runs
    (a monthly schedule: 31 days), so an alert waits for the slowest month."""
    expression = _MACROS.get(schedule.strip(), schedule)
    iterator = croniter(expression, start or datetime(2026, 1, 1, tzinfo=UTC))
    previous = iterator.get_next(datetime)
    longest = 0
    for _ in range(runs):
        current = iterator.get_next(datetime)
        longest = max(longest, int((current - previous).total_seconds()))
        previous = current
    return longest
