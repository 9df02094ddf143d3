"""IAM (policy/iam.py): no Allow statement grants by wildcard."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policy import iam
from tests.mocks.harness import Recorded, Resource
from tests.policy.analyzer import changed, only_violation, violations

ROLE_POLICY = ("aws:iam/rolePolicy:RolePolicy", "dev-postgres-walg-storage")


def with_statement(statement: dict[str, Any]) -> Callable[[dict[str, Any]], object]:
    def change(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs["policy"])
        document["Statement"].append(statement)
        inputs["policy"] = json.dumps(document)

    return change


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": ["arn:aws:s3:::b/p/*"]}, "allows Action '*'"),
        ({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}, "allows Resource '*'"),
        ({"Sid": "All", "Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b"]}, "allows Action 's3:*'"),
    ],
    ids=["action-star", "resource-star", "service-star"],
)
def test_wildcard_allow_in_role_policy_is_refused(dev: Recorded, statement: dict[str, Any], expected: str) -> None:
    message = only_violation("iam-no-wildcards", changed(dev, *ROLE_POLICY, with_statement(statement)))
    assert "RolePolicy 'dev-postgres-walg-storage': policy statement 4" in message and expected in message


def test_wildcard_deny_is_allowed(dev: Recorded) -> None:
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}
    assert violations("iam-no-wildcards", [changed(dev, *ROLE_POLICY, with_statement(deny))]) == []


def test_shipped_tls_only_bucket_policy_denies_with_a_wildcard() -> None:
    from pgpitr.iam_policies import tls_only_bucket_policy

    document = tls_only_bucket_policy("b")
    assert document["Statement"][0]["Action"] == "s3:*"
    assert iam.wildcard_findings(document) == []


def test_wildcard_in_trust_policy_and_inline_policy_is_refused(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        trust = json.loads(inputs["assumeRolePolicy"])
        trust["Statement"][0]["Action"] = "sts:*"
        inputs["assumeRolePolicy"] = json.dumps(trust)
        inline = {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}
        inputs["inlinePolicies"] = [{"name": "extra", "policy": inline}]

    messages = violations("iam-no-wildcards", [changed(dev, "aws:iam/role:Role", "dev-postgres-walg", change)])
    assert len(messages) == 2
    assert "assumeRolePolicy statement 0 allows Action 'sts:*'" in messages[0]
    assert "inlinePolicies[0].policy statement 0 allows Resource '*'" in messages[1]


def test_managed_policy_as_a_dict_is_checked() -> None:
    resource = Resource(
        "aws:iam/policy:Policy",
        "admin",
        {"policy": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}},
        {},
    )
    assert len(violations("iam-no-wildcards", [resource])) == 2


def test_policy_unknown_during_preview_is_skipped(dev: Recorded) -> None:
    resource = changed(dev, *ROLE_POLICY, lambda inputs: inputs.update(policy=UNKNOWN_STRING_VALUE))
    assert violations("iam-no-wildcards", [resource]) == []


def test_policy_that_is_not_json_is_refused(dev: Recorded) -> None:
    resource = changed(dev, *ROLE_POLICY, lambda inputs: inputs.update(policy="{not json"))
    assert "not valid JSON" in only_violation("iam-no-wildcards", resource)
