"""The cluster's programs as processes this machine runs: started once, restarted when
their configuration changes, waited on until ready, stopped, and recorded in the work
dir's state so that a later command (or `down`) finds them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cluster import api as k8s
from cluster import node
from cluster.config import WorkDir
from cluster.pki import Pki
from cluster.state import ClusterError, ClusterState, ProcessRecord, Progress
from harness.processes import alive, command_line, start_background, stop_pid, wait_for


def log_tail(path: Path, lines: int = 3) -> str:
    try:
        found = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return " | ".join(found[-lines:]) or "(empty log)"


class Supervisor:
    """The programs of one work dir, and its recorded state."""

    def __init__(self, work: WorkDir, progress: Progress | None = None) -> None:
        self.work = work
        self.progress = progress or Progress()
        self.state = ClusterState.load(work)
        self.pki = Pki(work.pki)

    def step(self, message: str) -> None:
        self.progress.step(message)

    def save(self) -> None:
        self.state.save(self.work)

    def api(self) -> k8s.Api:
        return k8s.Api(self.pki)

    def running(self, name: str) -> bool:
        record = self.state.processes.get(name)
        return record is not None and alive(record.pid) and command_line(record.pid)[:1] == [record.program]

    def ensure(self, program: node.Program) -> None:
        """Starts the program unless it runs; either way waits until it is ready."""
        log = self.work.log(program.name)
        fingerprint = self.fingerprint(program)
        verb = "started"
        if self.running(program.name):
            if self.state.processes[program.name].fingerprint == fingerprint:
                verb = "running"
            else:
                self.stop(program.name)
                verb = "restarted (configuration changed)"
        if verb == "running":
            pid = self.state.processes[program.name].pid
        else:
            env = node.base_env(self.work) | program.env
            pid = start_background(program.argv, env, log, container=False)
            self.state.processes[program.name] = ProcessRecord(pid, program.argv[0], str(log), fingerprint)
            self.save()

        def ready() -> bool:
            if not alive(pid):
                raise ClusterError(f"{program.name} exited: {log_tail(log)} (log: {log})")
            return program.ready()

        wait_for(ready, program.timeout, f"{program.name} to be ready (log: {log})")
        self.step(f"{program.name} {verb}, ready (pid {pid})")

    def fingerprint(self, program: node.Program) -> str:
        """The command line and the content of the work dir's configuration files it names."""
        digest = hashlib.sha256(json.dumps(program.argv).encode())
        for argument in program.argv:
            path = Path(argument.split("=", 1)[-1])
            if path.is_relative_to(self.work.config) and path.is_file():
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def stop(self, name: str, timeout: float = 30) -> None:
        if self.running(name):
            stop_pid(self.state.processes[name].pid, timeout)
            self.step(f"stopped {name}")
        self.state.processes.pop(name, None)
        self.save()

    def recorded_pids(self) -> set[int]:
        return {record.pid for record in self.state.processes.values()}
