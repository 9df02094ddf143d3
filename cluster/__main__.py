"""`python -m cluster [--dir DIR] up | down | status | env | smoke`

up      starts (or finds running) a single-node Kubernetes on this machine, as root, with
        the S3 server, bucket, namespace and Secrets the local stack expects; JSON on stdout
down    stops all of it, removes what it made and restores the machine's settings; JSON
status  what runs and whether the node is Ready; JSON
env     shell exports for kubectl and the Pulumi CLI: eval "$(python -m cluster env)"
smoke   a pod of pgpitr's image checks DNS, the API Service, S3 and isolation; JSON
deploy  `up`, then `pulumi up` of the local stack (Pulumi.local.yaml); JSON, and how to
        connect on stderr (what `make cluster` runs)
scenario  pgpitr deployed, backed up, restored to a time and an xid, verified, destroyed,
        the cluster stopped, in a work dir of its own; JSON as the last line (what
        `make cluster-test` runs)

Progress goes to stderr, one line per step with the elapsed time.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cluster.config import DEFAULT_NAMESPACE, DEFAULT_WORK_DIR, WorkDir
from cluster.state import ClusterError, Progress
from harness.processes import HarnessError, exit_cleanly_on_sigterm


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_WORK_DIR, help="work dir (default: .cluster/)")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the cluster (idempotent)")
    up.add_argument("--namespace", default=DEFAULT_NAMESPACE, help="the stack's namespace, for its Secrets")
    up.add_argument("--without-image", action="store_true", help="do not build and import pgpitr's image")
    commands.add_parser("down", help="stop everything and restore the machine")
    commands.add_parser("status", help="what runs, node Ready or not")
    commands.add_parser("env", help="shell exports for kubectl and pulumi")
    commands.add_parser("deploy", help="up, then pulumi up of the local stack")
    commands.add_parser("scenario", help="the end-to-end scenario on a cluster of its own (make cluster-test)")
    smoke = commands.add_parser("smoke", help="run a pod that checks the pod network")
    smoke.add_argument("--image", help="image to run (default: pgpitr's, as imported by `up`)")
    return parser.parse_args(argv)


@contextlib.contextmanager
def exclusive(work: WorkDir) -> Iterator[None]:
    """One command that changes the cluster at a time per work dir."""
    work.root.mkdir(parents=True, exist_ok=True)
    with (work.root / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ClusterError(f"another `python -m cluster` command is running on {work.root}") from None
        yield


def main(argv: list[str]) -> int:
    exit_cleanly_on_sigterm()
    arguments = parse(argv)
    work = WorkDir(arguments.dir.resolve())
    progress = Progress()
    from cluster.lifecycle import Cluster

    if arguments.command == "scenario":
        return run_scenario(progress)
    try:
        if arguments.command == "env":
            sys.stdout.write(Cluster(work, progress).env())
            return 0
        if arguments.command == "status":
            result = Cluster(work, progress).status()
        elif arguments.command == "up":
            with exclusive(work):
                result = Cluster(work, progress).up(arguments.namespace, with_image=not arguments.without_image)
            progress.step("cluster up" + (", node Ready" if result["nodes_ready"] else ", node NOT Ready"))
        elif arguments.command == "deploy":
            from cluster import deploy

            with exclusive(work):
                result = deploy.deploy(work, progress)
        elif arguments.command == "down":
            with exclusive(work):
                result = Cluster(work, progress).down()
            progress.step("cluster down")
        else:
            from cluster import smoke

            cluster = Cluster(work, progress)
            image = arguments.image or cluster.state.image_ref
            if not image:
                raise ClusterError("no image to run: `cluster up` imported none; pass --image")
            result = smoke.run(cluster.api(), image)
        result["seconds"] = round(progress.elapsed(), 1)
    except (ClusterError, HarnessError) as error:
        progress.step(f"{arguments.command} failed: {error}")
        print(json.dumps({"ok": False, "error": str(error), "seconds": round(progress.elapsed(), 1)}))
        return 1
    print(json.dumps(result, indent=2))
    return 0 if result.get("ok") or arguments.command == "status" else 1


def run_scenario(progress: Progress) -> int:
    """On a work dir of its own (short: unix sockets live in it), removed when it passes."""
    from cluster import scenario

    work = WorkDir(Path(tempfile.mkdtemp(prefix="pgpitr-scenario-", dir="/tmp")))
    with exclusive(work):
        result = scenario.run(work, progress)
    if result.ok:
        shutil.rmtree(work.root, ignore_errors=True)
    else:
        progress.step(f"scenario failed; its logs are kept in {work.logs}")
    print(json.dumps(result.to_json()))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
