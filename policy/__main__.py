"""The pgpitr-guardrails policy pack; `pulumi preview --policy-pack policy` runs it with
policy/ as the working directory. Tests import pgpitr_policies, never this module:
PolicyPack(...) starts the analyzer's gRPC server and blocks."""

from pgpitr_policies import ALL_POLICIES  # type: ignore[import-not-found,unused-ignore]
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="pgpitr-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=ALL_POLICIES)
