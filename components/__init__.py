"""Pulumi ComponentResources, one per concern; `stack.build` wires them together."""
