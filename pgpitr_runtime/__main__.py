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

from pgpitr_runtime import kube_events, names
from pgpitr_runtime.archive_commands import COMMANDS as ARCHIVE_COMMANDS
from pgpitr_runtime.archive_commands import COMMANDS_WITH_ARGUMENT
from pgpitr_runtime.backups import BackupChoiceError, parse_backup_list
from pgpitr_runtime.key_check import classify_fetch, key_configured, problem_line, walg_reason
from pgpitr_runtime.recovery import RecoveryInputError, recovery_settings, render_settings
from pgpitr_runtime.recovery_env import require, target_from_env
from pgpitr_runtime.wal_chain import listed_segments as newest_segments
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


def cmd_check_target(env: Mapping[str, str]) -> str:
    target, _ = target_from_env(env)
    return f"{target.kind} {target.value or ''}".strip()


def cmd_recovery_conf(env: Mapping[str, str]) -> str:
    target, options = target_from_env(env)
    command = f'{require(env, names.PGPITR_WAL_FETCH_COMMAND)} "%f" "%p"'
    return render_settings(recovery_settings(target, options, command)).rstrip("\n")


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


def cmd_key_check(env: Mapping[str, str]) -> str:
    """Judges `wal-g wal-fetch` of one object of the backup (its stderr on stdin, its exit
    status in PGPITR_KEY_CHECK_STATUS): nothing when the key reads it, else the one line
    saying why not (a key problem, a storage failure, a missing segment), exit 1."""
    raw_status = require(env, names.PGPITR_KEY_CHECK_STATUS)
    if not raw_status.isdigit():
        raise RecoveryInputError(f"{names.PGPITR_KEY_CHECK_STATUS} must be an exit status, got {raw_status!r}")
    status = int(raw_status)
    problem = problem_line(
        classify_fetch(status, sys.stdin.read()),
        status,
        backup=require(env, names.PGPITR_KEY_CHECK_BACKUP),
        segment=require(env, names.PGPITR_KEY_CHECK_SEGMENT),
        source=env.get(names.WALG_S3_PREFIX, ""),
        has_key=key_configured(env),
    )
    if problem is not None:
        raise ProblemFoundError(problem)
    return ""


def cmd_key_verdict(env: Mapping[str, str]) -> str:
    """Like key-check, but only the verdict's kind: ok, key, storage, missing or other."""
    raw_status = require(env, names.PGPITR_KEY_CHECK_STATUS)
    if not raw_status.isdigit():
        raise RecoveryInputError(f"{names.PGPITR_KEY_CHECK_STATUS} must be an exit status, got {raw_status!r}")
    verdict = classify_fetch(int(raw_status), sys.stdin.read())
    return f"{verdict.kind} {verdict.reason}".strip()


def cmd_newest_backup_segment(env: Mapping[str, str]) -> str:
    """The first WAL segment of the newest backup in the listing on stdin (exit 2: none)."""
    backups = parse_backup_list(sys.stdin.read())
    if not backups:
        raise BackupChoiceError("no base backup here")
    return backups[-1].start_segment


def cmd_newest_listed_segment(env: Mapping[str, str]) -> str:
    """The newest WAL segment in `wal-g st ls wal_005/`'s table on stdin (exit 2: none)."""
    found = sorted(newest_segments(sys.stdin.read()))
    if not found:
        raise BackupChoiceError("no WAL segment here")
    return found[-1]


def cmd_walg_error(env: Mapping[str, str]) -> str:
    """The last error WAL-G printed (its stderr on stdin), on one line."""
    return walg_reason(sys.stdin.read())


def cmd_kube_event(env: Mapping[str, str]) -> str:
    """Posts a Kubernetes Event about this pod (message on stdin); says what happened."""
    message = sys.stdin.read().strip()
    return kube_events.post(
        require(env, names.PGPITR_EVENT_REASON), message, env.get(names.PGPITR_EVENT_TYPE) or "Normal", env
    )


def cmd_newest_backup(env: Mapping[str, str]) -> str:
    backups = parse_backup_list(sys.stdin.read())
    if not backups:
        raise BackupChoiceError("the archive holds no base backup")
    return backups[-1].name


COMMANDS: dict[str, Callable[[Mapping[str, str]], str]] = {
    "check-target": cmd_check_target,
    "recovery-conf": cmd_recovery_conf,
    "newest-backup": cmd_newest_backup,
    "key-check": cmd_key_check,
    "key-verdict": cmd_key_verdict,
    "kube-event": cmd_kube_event,
    "walg-error": cmd_walg_error,
    "newest-backup-segment": cmd_newest_backup_segment,
    "newest-listed-segment": cmd_newest_listed_segment,
    "wal-chain-report": cmd_wal_chain_report,
    **ARCHIVE_COMMANDS,
}


def main(argv: list[str]) -> int:
    known = (len(argv) == 1 and argv[0] in COMMANDS) or (len(argv) == 2 and argv[0] in COMMANDS_WITH_ARGUMENT)
    if not known:
        usage = "|".join([*COMMANDS, *(f"{name} ARG" for name in COMMANDS_WITH_ARGUMENT)])
        print(f"usage: python3 -m pgpitr_runtime {{{usage}}}", file=sys.stderr)
        return USAGE_ERROR
    try:
        if len(argv) == 2:
            output = COMMANDS_WITH_ARGUMENT[argv[0]](os.environ, argv[1])
        else:
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
