"""The pack as Pulumi packages and runs it: self-contained, built by policy/__main__.py
from pack.ALL_POLICIES, its modules loadable top-level from policy/ (how Pulumi runs it),
its runtime and pins as the workflows install them."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.policy.analyzer import NAMES, POLICY_DIR

LOADED_TOP_LEVEL = (
    "import sys\n"
    "from pack import ALL_POLICIES\n"
    "print(' '.join(policy.name for policy in ALL_POLICIES))\n"
    "print(' '.join(sorted(name for name in sys.modules if name.split('.')[0] == 'policy')))\n"
)
"""Imports the pack as `python -m pulumi.policy` does (policy/ first on sys.path, so its
modules are top-level): the names of the policies, then any module of the policy package."""


def test_policy_module_imports_only_pulumi_policy_and_the_stdlib() -> None:
    """Every module of the pack imports pulumi_policy, the standard library and its
    siblings (`.props` as policy.<module>, `props` top-level), and none is named like a
    standard-library module it would shadow with policy/ first on sys.path."""
    own = {path.stem for path in POLICY_DIR.glob("*.py")}
    modules: set[str] = set()
    for path in sorted(POLICY_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {module.split(".")[0] for module in modules}
    assert roots - set(sys.stdlib_module_names) - own == {"pulumi_policy"}
    assert not own & set(sys.stdlib_module_names)


def test_main_builds_the_mandatory_pack_from_all_policies() -> None:
    source = (POLICY_DIR / "__main__.py").read_text()
    tree = ast.parse(source)
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert any(node.module == "pack" and node.names[0].name == "ALL_POLICIES" for node in imports)
    (pack,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "PolicyPack"
    ]
    keywords = {k.arg: ast.unparse(k.value) for k in pack.keywords}
    assert keywords == {
        "name": "'pgpitr-guardrails'",
        "enforcement_level": "EnforcementLevel.MANDATORY",
        "policies": "ALL_POLICIES",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", LOADED_TOP_LEVEL], cwd=POLICY_DIR, capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.splitlines() == [" ".join(NAMES), ""]


def test_pack_metadata_and_pins() -> None:
    assert "runtime: python" in (POLICY_DIR / "PulumiPolicy.yaml").read_text()
    pins = set((POLICY_DIR / "requirements.txt").read_text().split())
    assert pins == {"pulumi-policy==1.21.0", "pulumi==3.272.0"}
