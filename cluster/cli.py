"""The programs a user runs against the local cluster, kubectl and the Pulumi CLI, with
the environment `cluster env` exports. Every call is bounded; on a timeout everything it
started (the language host, provider plugins) is killed with it; a failure is one line."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cluster.state import ClusterError
from harness import processes
from harness.paths import REPOSITORY_ROOT
from harness.processes import HarnessError

PULUMI_TIMEOUT: Final = 900.0
"""An `up` that waits for a restored instance to replay and become Ready."""
KUBECTL_TIMEOUT: Final = 60.0


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b")
"""The last line of a Python traceback: the exception and its message."""


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    """The most telling line of a failed command: its last `error:` line, else its last
    line; a program's unhandled exception with the exception itself."""
    lines = [line.strip() for line in (result.stderr + "\n" + result.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:") and "unhandled error" not in line]
    chosen = (errors or lines or ["(no output)"])[-1]
    raised = [line for line in lines if EXCEPTION_LINE.match(line)]
    if chosen.endswith("unhandled exception:") and raised:
        chosen = f"{chosen} {raised[-1]}"
    return chosen


@dataclass(frozen=True)
class Tools:
    """kubectl and pulumi for one cluster work dir; `config_file` is the stack file the
    Pulumi commands read and `pulumi config set` writes (a copy, so the repository's
    Pulumi.local.yaml is never changed by a test)."""

    env: dict[str, str]
    config_file: Path
    cwd: Path = REPOSITORY_ROOT
    calls: list[str] = field(default_factory=list)
    """Every command run, in order: what a failure report shows."""

    @classmethod
    def with_env(cls, cluster_env: dict[str, str], bin_dir: Path, config_file: Path) -> Tools:
        env = {**os.environ, **cluster_env, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        return cls(env, config_file)

    def run(self, argv: Sequence[str], timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
        shown = shlex.join(argv)
        self.calls.append(shown)
        try:
            result = processes.run(argv, self.env, timeout=timeout, check=False, container=False, cwd=self.cwd)
        except HarnessError:
            raise ClusterError(f"`{shown}` did not finish within {timeout:.0f}s; stopped it") from None
        if check and result.returncode != 0:
            raise ClusterError(f"`{shown}` failed: {last_line(result)}")
        return result

    def kubectl(self, *args: str, timeout: float = KUBECTL_TIMEOUT) -> str:
        return self.run(["kubectl", *args], timeout).stdout

    def pulumi(
        self, *args: str, timeout: float = PULUMI_TIMEOUT, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """A Pulumi command on the stack file `config_file` (the commands that read config)."""
        return self.run(["pulumi", *args, "--non-interactive", "--config-file", str(self.config_file)], timeout, check)

    def pulumi_stack(self, *args: str) -> str:
        """`pulumi stack ...` (which takes no --config-file)."""
        return self.run(["pulumi", "stack", *args, "--non-interactive"], PULUMI_TIMEOUT).stdout


def program_errors(output: str, marker: str) -> list[str]:
    """The distinct lines of a Pulumi command's output from `marker` on: the CLI shows the
    program's error twice (progress and diagnostics), which is one message."""
    return sorted({line[line.index(marker) :].strip() for line in output.splitlines() if marker in line})
