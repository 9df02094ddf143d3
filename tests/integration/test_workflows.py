"""The GitHub Actions workflows: actionlint-clean, and wired the way the deployment needs.

actionlint (pinned in scripts/install-actionlint.sh, built with Go into .tools/bin) checks
syntax, expressions, job dependencies, the inputs of the actions used, and, through
shellcheck, every `run:` script. The assertions below pin what actionlint cannot know:
the triggers, the OIDC-only AWS credentials, the policy pack and the prod approval gate.
"""

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.requirements import require_program

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "scripts" / "install-actionlint.sh"
WORKFLOWS = ROOT / ".github" / "workflows"
PREVIEW = WORKFLOWS / "preview.yml"
DEPLOY = WORKFLOWS / "deploy.yml"

# PyYAML reads the bare key `on` as the boolean True, hence the key type.
Workflow = dict[str | bool, Any]
Job = dict[str, Any]
Step = dict[str, Any]


@pytest.fixture(scope="module")
def actionlint() -> Path:
    """The pinned actionlint, built on first use (needs Go unless already built)."""
    result = subprocess.run(["bash", str(INSTALL_SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=540)
    if result.returncode != 0:
        require_program("go", "actionlint is built from source: install Go 1.26 or newer")
        pytest.fail(f"{INSTALL_SCRIPT.name} failed:\n{result.stderr}")
    return Path(result.stdout.strip())


def run_actionlint(actionlint: Path, cwd: Path, *workflows: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(actionlint), "-color=false", *workflows], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def load(path: Path) -> Workflow:
    workflow = yaml.safe_load(path.read_text())
    assert isinstance(workflow, dict), f"{path.name} is not a mapping"
    return workflow


def triggers(workflow: Workflow) -> dict[str, Any]:
    """The `on:` mapping; YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True."""
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict), "`on:` must be a mapping of events"
    return on


def jobs(workflow: Workflow) -> dict[str, Job]:
    found = workflow["jobs"]
    assert isinstance(found, dict)
    return found


def steps_using(job: Job, action: str) -> list[Step]:
    """The job's steps whose `uses:` is `action` (with or without a version)."""
    return [step for step in job["steps"] if str(step.get("uses", "")).split("@")[0] == action.split("@")[0]]


def step_using(job: Job, action: str) -> Step:
    found: list[Step] = [step for step in job["steps"] if step.get("uses") == action]
    assert len(found) == 1, f"expected one step using {action}, found {len(found)}"
    return found[0]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def environment_name(job: Job) -> str | None:
    environment = job.get("environment")
    if isinstance(environment, dict):  # the long form, {name: ..., url: ...}
        environment = environment.get("name")
    return None if environment is None else str(environment)


def pulumi_jobs(workflow: Workflow) -> dict[str, Job]:
    return {name: job for name, job in jobs(workflow).items() if steps_using(job, "pulumi/actions")}


def test_actionlint_passes_on_both_workflows(actionlint: Path) -> None:
    result = run_actionlint(actionlint, ROOT, str(PREVIEW.relative_to(ROOT)), str(DEPLOY.relative_to(ROOT)))
    assert result.returncode == 0, f"actionlint failed:\n{result.stdout}{result.stderr}"


def test_actionlint_catches_a_broken_workflow(actionlint: Path, tmp_path: Path) -> None:
    """Guards the test above against an actionlint that checks nothing."""
    broken = tmp_path / ".github" / "workflows" / "preview.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(PREVIEW.read_text().replace("needs: test", "needs: no-such-job"))
    result = run_actionlint(actionlint, tmp_path, ".github/workflows/preview.yml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no-such-job" in result.stdout


def test_preview_runs_on_pull_requests_to_main() -> None:
    on = triggers(load(PREVIEW))
    assert set(on) == {"pull_request"}
    assert on["pull_request"]["branches"] == ["main"]


def test_preview_comments_a_policy_checked_preview_per_stack() -> None:
    workflow = load(PREVIEW)
    preview = jobs(workflow)["preview"]
    assert as_list(preview["needs"]) == ["test"]
    assert "dev" in preview["strategy"]["matrix"]["stack"]
    pulumi = step_using(preview, "pulumi/actions@v6")["with"]
    assert pulumi["command"] == "preview"
    assert pulumi["comment-on-pr"] in (True, "true")
    assert pulumi["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["policyPacks"] == "policy"
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert workflow["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}


def test_deploy_runs_on_pushes_to_main() -> None:
    on = triggers(load(DEPLOY))
    assert on["push"]["branches"] == ["main"]
    assert set(on) <= {"push", "workflow_dispatch"}


def test_deploy_goes_through_dev_then_approved_production() -> None:
    workflow = load(DEPLOY)
    all_jobs = jobs(workflow)
    dev, prod = all_jobs["deploy-dev"], all_jobs["deploy-prod"]
    assert as_list(dev["needs"]) == ["test"]
    assert environment_name(dev) == "dev"
    assert as_list(prod["needs"]) == ["deploy-dev"]
    assert environment_name(prod) == "production"
    for job, stack in ((dev, "dev"), (prod, "prod")):
        pulumi = step_using(job, "pulumi/actions@v6")["with"]
        assert (pulumi["command"], pulumi["stack-name"], pulumi["policyPacks"]) == ("up", stack, "policy")
    # Never cancel a running `pulumi up`.
    assert workflow["concurrency"]["group"] == "deploy-${{ github.ref }}"
    assert workflow["concurrency"].get("cancel-in-progress", False) is False
    assert workflow["permissions"] == {"contents": "read", "id-token": "write"}


@pytest.mark.parametrize("path", [PREVIEW, DEPLOY], ids=lambda p: p.name)
def test_aws_credentials_come_from_oidc_only(path: Path) -> None:
    text = path.read_text()
    for static_key_input in ("aws-access-key-id", "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY"):
        assert static_key_input not in text
    for name, job in pulumi_jobs(load(path)).items():
        names = [str(step.get("uses", "")).split("@")[0] for step in job["steps"]]
        aws = step_using(job, "aws-actions/configure-aws-credentials@v4")["with"]
        assert aws["role-to-assume"].startswith("${{ vars."), name
        assert names.index("aws-actions/configure-aws-credentials") < names.index("pulumi/actions"), name


@pytest.mark.parametrize("path", [PREVIEW, DEPLOY], ids=lambda p: p.name)
def test_pulumi_steps_have_the_token_and_the_policy_pack_requirements(path: Path) -> None:
    for name, job in pulumi_jobs(load(path)).items():
        step = step_using(job, "pulumi/actions@v6")
        assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}", name
        position = job["steps"].index(step)
        earlier_scripts = "\n".join(str(s.get("run", "")) for s in job["steps"][:position])
        assert "make python-packages" in earlier_scripts, name
        assert "-r policy/requirements.txt" in earlier_scripts, name
        assert "aws eks update-kubeconfig" in earlier_scripts, name


def test_the_policy_pack_runs_with_the_python_the_workflows_prepare() -> None:
    """Without a `virtualenv` option Pulumi runs the pack with `python3` from PATH, which the
    workflows make .venv's; a virtualenv named in PulumiPolicy.yaml would have to be ../.venv."""
    pack = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    runtime = pack["runtime"]
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    assert options.get("virtualenv") in (None, "../.venv")
    for path in (PREVIEW, DEPLOY):
        for name, job in pulumi_jobs(load(path)).items():
            scripts = "\n".join(str(step.get("run", "")) for step in job["steps"])
            assert 'echo "$PWD/.venv/bin" >> "$GITHUB_PATH"' in scripts, f"{path.name}: {name}"


def test_both_test_jobs_are_identical_and_run_make_test_on_bookworm() -> None:
    preview_test, deploy_test = jobs(load(PREVIEW))["test"], jobs(load(DEPLOY))["test"]
    assert preview_test == deploy_test
    assert preview_test["container"] == "debian:bookworm"
    assert step_using(preview_test, "actions/setup-go@v5")["with"]["go-version"] == "1.26.x"
    assert [step.get("run") for step in preview_test["steps"]][-1] == "make test"
