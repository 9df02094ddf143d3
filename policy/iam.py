"""IAM: no Allow statement in a role, role policy or managed policy grants by wildcard."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Final

from pulumi_policy import ReportViolation, ResourceValidationArgs

if TYPE_CHECKING or __package__:  # policy.<module>, as the tests and mypy import it
    from .props import UNKNOWN, describe, elements, lookup, plain_strings
else:  # a top-level module: Pulumi runs the pack with policy/ first on sys.path
    from props import UNKNOWN, describe, elements, lookup, plain_strings

ROLE_TYPE: Final = "aws:iam/role:Role"
ROLE_POLICY_TYPE: Final = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY_TYPE: Final = "aws:iam/policy:Policy"


def policy_documents(args: ResourceValidationArgs) -> Iterator[tuple[str, object]]:
    """(where, document) for each IAM policy document the resource carries."""
    if args.resource_type in (ROLE_POLICY_TYPE, IAM_POLICY_TYPE):
        yield "policy", lookup(args.props, "policy")
    elif args.resource_type == ROLE_TYPE:
        yield "assumeRolePolicy", lookup(args.props, "assumeRolePolicy")
        inline = lookup(args.props, "inlinePolicies")
        for index, entry in enumerate(elements(inline)):
            yield f"inlinePolicies[{index}].policy", lookup(entry, "policy")


def wildcard_findings(document: object) -> list[str]:
    """What an Allow statement grants by wildcard: an Action `*` or `service:*`, a
    Resource `*`. Deny statements may use wildcards."""
    statements = lookup(document, "Statement")
    listed = [statements] if isinstance(statements, Mapping) else elements(statements)
    findings: list[str] = []
    for index, statement in enumerate(listed):
        if not isinstance(statement, Mapping) or lookup(statement, "Effect") == "Deny":
            continue
        sid = lookup(statement, "Sid")
        where = f"statement {index}" + (f" ({sid})" if isinstance(sid, str) and sid else "")
        findings.extend(
            f"{where} allows Action {action!r}: list the actions it needs"
            for action in plain_strings(lookup(statement, "Action"))
            if action == "*" or action.endswith(":*")
        )
        findings.extend(
            f"{where} allows Resource {resource!r}: scope it to the bucket, prefix or key ARNs"
            for resource in plain_strings(lookup(statement, "Resource"))
            if resource == "*"
        )
    return findings


def validate_iam_no_wildcards(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No Allow statement in a role, role policy or managed policy uses a wildcard."""
    for where, value in policy_documents(args):
        if value is UNKNOWN or value is None:
            continue
        document: object = value
        if isinstance(value, str):
            try:
                document = json.loads(value)
            except ValueError:
                report_violation(f"{describe(args)}: {where} is not valid JSON; give a JSON policy document.", args.urn)
                continue
        for finding in wildcard_findings(document):
            report_violation(f"{describe(args)}: {where} {finding}.", args.urn)
