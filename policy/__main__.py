"""The pgpitr-guardrails policy pack; `pulumi preview --policy-pack policy` runs it with
policy/ as the working directory (and first on sys.path), so the pack's modules load as
top-level modules. Tests import policy.pack and the rest, never this module:
PolicyPack(...) starts the analyzer's gRPC server and blocks."""

from pack import ALL_POLICIES  # type: ignore[import-not-found,unused-ignore]
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="pgpitr-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=ALL_POLICIES)
