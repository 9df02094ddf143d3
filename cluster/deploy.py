"""`python -m cluster deploy` (`make cluster`): the cluster up, then `pulumi up` of the
`local` stack from the repository's Pulumi.local.yaml, as a user would run it; then how
to reach the database. `pulumi config set --path restore...` and `pulumi up` are then the
user's, after `eval "$(python -m cluster env)"`."""

from __future__ import annotations

import json
import sys
from typing import Any

from cluster.cli import Tools
from cluster.config import DEFAULT_NAMESPACE, STACK, WorkDir
from cluster.lifecycle import Cluster
from cluster.pods import Pods
from cluster.scenario import PRIMARY_POD, READY_TIMEOUT, STACK_FILE
from cluster.state import Progress
from pgpitr.settings.stack import PRIMARY_NAME


def connection_help(namespace: str) -> str:
    return "\n".join(
        [
            "pgpitr runs on the local cluster. In this shell first:",
            '  eval "$(python -m cluster env)"',
            "psql in the primary's pod:",
            f"  kubectl -n {namespace} exec -it {PRIMARY_POD} -c postgres -- psql -U postgres",
            "or from this machine through a port-forward (password: key superuser-password of Secret"
            " postgres-passwords, also in {work dir}/secrets.json):",
            f"  kubectl -n {namespace} port-forward svc/{PRIMARY_NAME} 15432:5432 &",
            "  psql -h 127.0.0.1 -p 15432 -U postgres",
            "a restored copy at a target, then:",
            "  pulumi config set --path restore.enabled true",
            "  pulumi config set --path restore.target.time 2026-11-27T10:00:00+01:00",
            "  pulumi up",
            "and to remove it all: pulumi destroy --yes && python -m cluster down",
        ]
    )


def deploy(work: WorkDir, progress: Progress) -> dict[str, Any]:
    cluster = Cluster(work, progress)
    status = cluster.up(DEFAULT_NAMESPACE)
    tools = Tools.with_env(cluster.pulumi_env(), work.bin, STACK_FILE)
    tools.pulumi_stack("select", "--create", STACK)
    tools.pulumi("up", "--yes", "--skip-preview")
    Pods(tools, DEFAULT_NAMESPACE).wait_ready(PRIMARY_POD, READY_TIMEOUT)
    outputs: dict[str, Any] = json.loads(tools.pulumi_stack("output", "--json"))
    progress.step(f"pulumi up of stack {STACK}: {PRIMARY_POD} Ready")
    print(connection_help(DEFAULT_NAMESPACE).replace("{work dir}", str(work.root)), file=sys.stderr)
    return {"ok": True, "stack": STACK, "outputs": outputs, "cluster": status}
