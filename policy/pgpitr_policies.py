"""What is still imported from the pack's former single module: tests/mocks/test_aws_stack.py
takes `wildcard_findings` from here. Re-exports only; the names live in the module of
their concern (here policy/iam.py), and the pack (policy/__main__.py) never imports this."""

from __future__ import annotations

from .iam import wildcard_findings

__all__ = ["wildcard_findings"]
