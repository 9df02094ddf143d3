"""The outputs of this stack's previous deployment, read before anything is declared."""

from typing import Any

import pulumi

READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"
"""The engine's built-in invoke behind StackReference; synchronous, so a refusal comes
before the first resource is registered (StackReference's outputs arrive only later)."""


def previous_outputs() -> dict[str, Any]:
    """This stack's outputs as its last `pulumi up` left them; empty for a new stack or a
    destroyed one."""
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": name})
    outputs = (result.value or {}).get("outputs") or {}
    return dict(outputs) if isinstance(outputs, dict) else {}
