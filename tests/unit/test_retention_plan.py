"""Retention: at least N full backups and everything needed for the last D days."""

from datetime import UTC, datetime, timedelta

import pytest

from pgpitr_runtime.backups import Backup
from pgpitr_runtime.retention import RetentionPolicy, plan_retention

NOW = datetime(2026, 3, 31, 3, 0, tzinfo=UTC)


def daily(days_ago: list[int], delta_of: int | None = None) -> list[Backup]:
    backups = []
    for index, age in enumerate(sorted(days_ago, reverse=True)):
        finish = NOW - timedelta(days=age)
        suffix = f"_D_{index:024X}" if delta_of is not None and index == delta_of else ""
        backups.append(
            Backup(
                f"base_{index + 1:024X}{suffix}", finish - timedelta(minutes=10), finish, index * 100, index * 100 + 50
            )
        )
    return backups


def test_fewer_full_backups_than_the_count_deletes_nothing() -> None:
    plan = plan_retention(daily([40, 20, 1]), RetentionPolicy(full_backups=7, days=30), NOW)
    assert plan.delete_args == () and plan.keep_from is None


def test_window_keeps_the_backup_that_covers_its_first_moment() -> None:
    # 10 daily backups 45..36 days old plus 35 daily ones; 7 fulls would keep the last week only.
    backups = daily(list(range(1, 46)))
    plan = plan_retention(backups, RetentionPolicy(full_backups=7, days=30), NOW)
    assert plan.keep_from is not None
    # The newest backup finished at or before now-30d is the 30-day-old one.
    assert plan.keep_from.finish_time == NOW - timedelta(days=30)
    assert plan.delete_args == ("before", "FIND_FULL", plan.keep_from.name, "--confirm")


def test_count_wins_when_it_reaches_further_back() -> None:
    # Weekly backups: 7 fulls go back 42 days, further than the 30-day window needs.
    backups = daily([84, 77, 70, 63, 56, 49, 42, 35, 28, 21, 14, 7, 0])
    plan = plan_retention(backups, RetentionPolicy(full_backups=7, days=30), NOW)
    assert plan.delete_args == ("retain", "FULL", "7", "--confirm")
    assert plan.keep_from is not None and plan.keep_from.finish_time == NOW - timedelta(days=42)


def test_never_retain_n_read_as_days() -> None:
    backups = daily(list(range(0, 60)))
    plan = plan_retention(backups, RetentionPolicy(full_backups=3, days=30), NOW)
    assert plan.delete_args[:2] != ("retain", "30")
    assert "--confirm" in plan.delete_args


def test_young_archive_keeps_everything() -> None:
    backups = daily(list(range(0, 20)))
    plan = plan_retention(backups, RetentionPolicy(full_backups=7, days=30), NOW)
    assert plan.delete_args == ()


def test_nothing_older_than_the_window_base() -> None:
    backups = daily([31, 20, 10, 5, 4, 3, 2, 1, 0])
    plan = plan_retention(backups, RetentionPolicy(full_backups=7, days=30), NOW)
    assert plan.delete_args == () and plan.keep_from is not None


def test_delta_backups_do_not_count_as_full() -> None:
    backups = daily([3, 2, 1, 0], delta_of=3)
    plan = plan_retention(backups, RetentionPolicy(full_backups=3, days=1), NOW)
    assert plan.delete_args == ()


@pytest.mark.parametrize(("full", "days"), [(0, 30), (7, 0)])
def test_policy_bounds(full: int, days: int) -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(full_backups=full, days=days)
