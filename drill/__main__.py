"""python -m drill SUBCOMMAND: the local PITR drill.

Every subcommand prints one JSON object on stdout (logs go to stderr) and exits
non-zero with a one-line error on failure. --dir (or PGPITR_DRILL_DIR) selects the
state folder; the default is .drill/default in the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from drill import deployment, postgres
from drill.deployment import DrillDeployment
from drill.state import DrillState, state_dir
from harness import processes
from harness.processes import HarnessError, ReportedFailureError, exit_cleanly_on_sigterm
from harness.toolchain import ToolchainError
from pgpitr.settings import SettingsError
from pgpitr_runtime.backups import BackupChoiceError, check_backup_request
from pgpitr_runtime.recovery import RecoveryInputError, RecoveryOptions, RecoveryTarget, check_action_applies

TARGET_FLAGS = ("time", "xid", "lsn", "name")


class UsageError(Exception):
    """Bad command-line input; argparse's own errors are turned into this too."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's API: never returns
        raise UsageError(message)


def parser() -> Parser:
    common = Parser(add_help=False)
    # SUPPRESS: a subcommand's --dir must not reset one given before the subcommand.
    common.add_argument(
        "--dir", default=argparse.SUPPRESS, help="state folder (default: PGPITR_DRILL_DIR or .drill/default)"
    )
    common.add_argument(
        "--stack", default=argparse.SUPPRESS, help="stack whose Pulumi.<stack>.yaml configures the drill (dev)"
    )
    top = Parser(
        prog="python -m drill",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    sub = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    sub.add_parser("up", parents=[common], help="start the S3 server and the primary")
    sub.add_parser("backup", parents=[common], help="run the backup job's script (retention included)")
    sub.add_parser("backups", parents=[common], help="list backups as WAL-G reports them")
    restore = sub.add_parser("restore", parents=[common], help="restore to a target on a new data directory and port")
    target = restore.add_mutually_exclusive_group(required=True)
    target.add_argument("--time", help="RFC 3339 with an explicit offset, e.g. 2026-02-09T12:00:00Z")
    target.add_argument("--xid", help="transaction id")
    target.add_argument("--lsn", help="WAL location, e.g. 16/B374D848")
    target.add_argument("--name", help="restore point name")
    target.add_argument("--latest", action="store_true", help="replay the whole archive")
    target.add_argument("--immediate", action="store_true", help="stop when the backup is consistent")
    restore.add_argument("--backup", default="auto", help="auto (default), LATEST or a backup name")
    restore.add_argument("--action", default="promote", help="promote (default), pause or shutdown")
    sub.add_parser("verify", parents=[common], help="run the restore drill job's script and the WAL chain check")
    sub.add_parser("status", parents=[common], help="what is running")
    sub.add_parser("down", parents=[common], help="stop everything and remove the state folder")
    run = sub.add_parser("run", parents=[common], help="the full drill: every target kind, checked row by row")
    run.add_argument("--keep", action="store_true", help="leave the S3 server and the primary running")
    return top


def parse_target(args: argparse.Namespace) -> tuple[RecoveryTarget, RecoveryOptions, str]:
    """The restore flags, checked by the same code the restore script runs."""
    try:
        if args.latest or args.immediate:
            target = RecoveryTarget.parse("latest" if args.latest else "immediate", None)
        else:
            kind = next(k for k in TARGET_FLAGS if getattr(args, k) is not None)
            try:
                target = RecoveryTarget.parse(kind, getattr(args, kind))
            except RecoveryInputError as error:
                raise UsageError(f"--{kind}: {error}") from None
        try:
            options = RecoveryOptions(action=args.action)
            check_action_applies(target, options)
        except RecoveryInputError as error:
            raise UsageError(f"--action: {error}") from None
        try:
            backup = check_backup_request(args.backup)
        except RecoveryInputError as error:
            raise UsageError(f"--backup: {error}") from None
    except StopIteration:
        raise UsageError("one of --time --xid --lsn --name --latest --immediate is required") from None
    return target, options, backup


def existing(directory: Path) -> DrillDeployment:
    state = DrillState.load(directory)
    if state is None:
        raise HarnessError(f"no drill in {directory}; run `python -m drill up` first")
    return deployment.up(directory, state.stack)


def command_status(directory: Path) -> dict[str, Any]:
    state = DrillState.load(directory)
    if state is None:
        return {"dir": str(directory), "running": False}
    stack = DrillDeployment(state)
    status: dict[str, Any] = {
        "dir": str(directory),
        "s3_server": processes.alive(state.s3.server_pid),
        "s3_endpoint": state.s3.endpoint if processes.alive(state.s3.gateway_pid) else None,
        "primary": postgres.running(stack.primary_base),
        "restores": [
            {
                "name": r.name,
                "dsn": state.dsn(r),
                "backup": r.backup,
                "target": r.target,
                "running": postgres.running(state.path / r.name),
            }
            for r in state.restores
        ],
    }
    if status["primary"]:
        with postgres.connect(stack.primary_dsn()) as conn:
            row = conn.execute(
                "SELECT archived_count, failed_count, last_archived_wal, last_failed_wal FROM pg_stat_archiver"
            ).fetchone()
        assert row is not None
        status["archiver"] = dict(
            zip(("archived_count", "failed_count", "last_archived_wal", "last_failed_wal"), row, strict=True)
        )
    return status


def execute(args: argparse.Namespace) -> dict[str, Any]:
    directory = state_dir(getattr(args, "dir", None))
    stack_name = getattr(args, "stack", "dev")
    if args.command == "up":
        stack = deployment.up(directory, stack_name)
        state = stack.state
        return {
            "dsn": stack.primary_dsn(),
            "pgdata": state.primary.pgdata,
            "s3_endpoint": state.s3.endpoint,
            "walg_prefix": stack.walg_prefix(),
            "dir": str(directory),
        }
    if args.command == "down":
        deployment.down(directory)
        return {"down": True, "dir": str(directory)}
    if args.command == "status":
        return command_status(directory)
    if args.command == "restore":
        target, options, backup = parse_target(args)
        stack = existing(directory)
        instance = stack.restore(target, options, backup)
        return {"dsn": stack.state.dsn(instance), "backup": instance.backup, "pgdata": instance.pgdata}
    if args.command == "run":
        from drill.scenario import run_drill

        deployment.down(directory)
        stack = deployment.up(directory, stack_name)
        try:
            report = run_drill(stack)
        finally:
            if not args.keep:
                deployment.down(directory)
        print(report.table(), file=sys.stderr)
        report_file = directory.parent / f"{directory.name}-report.json"
        result = report.as_json() | {"report": str(report_file)}
        report_file.write_text(json.dumps(result, indent=2) + "\n")
        return result
    stack = existing(directory)
    if args.command == "backup":
        return {"backup": stack.backup()}
    if args.command == "backups":
        return {"backups": stack.backups()}
    if args.command == "verify":
        # Both run, and both results are reported, even when the first fails.
        results: dict[str, Any] = {}
        failures = []
        for key, check in (("restore", stack.verify_restore), ("wal_chain", stack.check_wal_chain)):
            try:
                results[key] = check()
            except HarnessError as error:
                results[key] = {"ok": False, "error": str(error)}
                failures.append(str(error))
        if failures:
            raise ReportedFailureError("; ".join(failures), results)
        return results
    raise UsageError(f"unknown command {args.command}")


def main(argv: list[str]) -> int:
    exit_cleanly_on_sigterm()
    try:
        args = parser().parse_args(argv)
        result = execute(args)
    except ReportedFailureError as failure:
        print(json.dumps(failure.report, default=str))
        print(f"drill: {failure}", file=sys.stderr)
        return 1
    except (UsageError, HarnessError, ToolchainError, SettingsError, RecoveryInputError, BackupChoiceError) as error:
        print(f"drill: {error}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
