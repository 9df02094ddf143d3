"""Helpers the container scripts call: `python3 -m pgpitr_runtime COMMAND`.

Input comes from environment variables (names in pgpitr_runtime.names) and, for
commands that read a backup list, from `wal-g backup-list --detail --json` on stdin.
Results go to stdout; a bad input ends with one line on stderr and exit status 2.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from pgpitr_runtime import names
from pgpitr_runtime.backups import AUTO, BackupChoiceError, choose_backup, parse_backup_list
from pgpitr_runtime.key_check import classify_fetch, key_configured, problem_line
from pgpitr_runtime.recovery import (
    RecoveryInputError,
    RecoveryOptions,
    RecoveryTarget,
    check_action_applies,
    parse_time,
    recovery_settings,
    render_settings,
)
from pgpitr_runtime.retention import RetentionPolicy, plan_retention
from pgpitr_runtime.wal_chain import parse_wal_verify

USAGE_ERROR = 2
CHECK_FAILED = 1


class CheckFailedError(Exception):
    """A check ran and found a problem; its JSON report still goes to stdout."""

    def __init__(self, message: str, report: str) -> None:
        super().__init__(message)
        self.report = report


class ProblemFoundError(Exception):
    """A check ran and found a problem; its one line goes to stdout for the calling script
    to log as its own error (pgpitr_die)."""


def _require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise RecoveryInputError(f"{name} is not set")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "on", "1", "yes"):
        return True
    if raw in ("false", "off", "0", "no"):
        return False
    raise RecoveryInputError(f"{name} must be true or false, got {raw!r}")


def target_from_env(env: Mapping[str, str]) -> tuple[RecoveryTarget, RecoveryOptions]:
    target = RecoveryTarget.parse(
        _require(env, names.PGPITR_RECOVERY_TARGET_KIND), env.get(names.PGPITR_RECOVERY_TARGET_VALUE)
    )
    options = RecoveryOptions(
        inclusive=_bool(env, names.PGPITR_RECOVERY_INCLUSIVE, True),
        timeline=env.get(names.PGPITR_RECOVERY_TIMELINE) or "latest",
        action=env.get(names.PGPITR_RECOVERY_ACTION) or "promote",  # type: ignore[arg-type]
    )
    check_action_applies(target, options)
    return target, options


def cmd_check_target(env: Mapping[str, str]) -> str:
    target, _ = target_from_env(env)
    return f"{target.kind} {target.value or ''}".strip()


def cmd_choose_backup(env: Mapping[str, str]) -> str:
    target, _ = target_from_env(env)
    backups = parse_backup_list(sys.stdin.read())
    return choose_backup(backups, target, env.get(names.PGPITR_RECOVERY_BACKUP) or AUTO).name


def cmd_recovery_conf(env: Mapping[str, str]) -> str:
    target, options = target_from_env(env)
    command = f'{_require(env, names.PGPITR_WAL_FETCH_COMMAND)} "%f" "%p"'
    return render_settings(recovery_settings(target, options, command)).rstrip("\n")


def cmd_retention_plan(env: Mapping[str, str]) -> str:
    policy = RetentionPolicy(
        full_backups=int(_require(env, names.PGPITR_RETENTION_FULL_BACKUPS)),
        days=int(_require(env, names.PGPITR_RETENTION_DAYS)),
    )
    as_of = env.get(names.PGPITR_RETENTION_AS_OF)
    now = parse_time(as_of) if as_of else datetime.now(UTC)
    plan = plan_retention(parse_backup_list(sys.stdin.read()), policy, now)
    kept = plan.keep_from.name if plan.keep_from else "all"
    print(f"retention: keeping {kept} and newer ({plan.reason})", file=sys.stderr)
    return "\n".join(plan.delete_args)


def cmd_wal_chain_report(env: Mapping[str, str]) -> str:
    """Summarises wal-verify's JSON; fails naming every missing segment range that can
    never arrive (PGPITR_LAST_ARCHIVED_WAL: the primary's last archived segment, if known)."""
    report = parse_wal_verify(sys.stdin.read(), env.get(names.PGPITR_LAST_ARCHIVED_WAL) or None)
    summary = json.dumps(report.summary())
    if not report.ok:
        gaps = "; ".join(r.describe() for r in report.missing) or "see the report"
        raise CheckFailedError(
            f"WAL chain broken (integrity {report.integrity}, timeline {report.timeline}): missing {gaps}", summary
        )
    for arriving in report.arriving:
        print(f"pgpitr: warning: not archived yet: {arriving.describe()}", file=sys.stderr)
    return summary


def cmd_backup_segment(env: Mapping[str, str]) -> str:
    """The first WAL segment of backup PGPITR_KEY_CHECK_BACKUP, from the listing on stdin."""
    name = _require(env, names.PGPITR_KEY_CHECK_BACKUP)
    for backup in parse_backup_list(sys.stdin.read()):
        if backup.name == name:
            return backup.start_segment
    raise BackupChoiceError(f"backup {name} is not in the listing")


def cmd_key_check(env: Mapping[str, str]) -> str:
    """Judges `wal-g wal-fetch` of one object of the backup (its stderr on stdin, its exit
    status in PGPITR_KEY_CHECK_STATUS): nothing when the key reads it, else the one line
    saying why not (a key problem, a storage failure, a missing segment), exit 1."""
    raw_status = _require(env, names.PGPITR_KEY_CHECK_STATUS)
    if not raw_status.isdigit():
        raise RecoveryInputError(f"{names.PGPITR_KEY_CHECK_STATUS} must be an exit status, got {raw_status!r}")
    status = int(raw_status)
    problem = problem_line(
        classify_fetch(status, sys.stdin.read()),
        status,
        backup=_require(env, names.PGPITR_KEY_CHECK_BACKUP),
        segment=_require(env, names.PGPITR_KEY_CHECK_SEGMENT),
        source=env.get(names.PGPITR_SOURCE_WALG_PREFIX, ""),
        has_key=key_configured(env),
    )
    if problem is not None:
        raise ProblemFoundError(problem)
    return ""


def cmd_newest_backup(env: Mapping[str, str]) -> str:
    backups = parse_backup_list(sys.stdin.read())
    if not backups:
        raise BackupChoiceError("the archive holds no base backup")
    return backups[-1].name


COMMANDS: dict[str, Callable[[Mapping[str, str]], str]] = {
    "check-target": cmd_check_target,
    "choose-backup": cmd_choose_backup,
    "recovery-conf": cmd_recovery_conf,
    "retention-plan": cmd_retention_plan,
    "newest-backup": cmd_newest_backup,
    "backup-segment": cmd_backup_segment,
    "key-check": cmd_key_check,
    "wal-chain-report": cmd_wal_chain_report,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: python3 -m pgpitr_runtime {{{'|'.join(COMMANDS)}}}", file=sys.stderr)
        return USAGE_ERROR
    try:
        output = COMMANDS[argv[0]](os.environ)
    except CheckFailedError as failure:
        print(failure.report)
        print(f"pgpitr: {failure}", file=sys.stderr)
        return CHECK_FAILED
    except ProblemFoundError as problem:
        print(problem)
        return CHECK_FAILED
    except (RecoveryInputError, BackupChoiceError, ValueError, KeyError) as error:
        print(f"pgpitr: {error}", file=sys.stderr)
        return USAGE_ERROR
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
