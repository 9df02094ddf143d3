"""Status conditions as the API server reports them, also before any condition is set."""

import pytest

from cluster import api


@pytest.mark.parametrize(
    "obj",
    [{}, {"status": None}, {"status": {}}, {"status": {"conditions": None}}, {"status": {"conditions": []}}],
    ids=["no-status", "null-status", "empty-status", "null-conditions", "no-conditions"],
)
def test_a_fresh_object_has_no_true_condition(obj: dict[str, object]) -> None:
    assert api.true_conditions(obj) == set()
    assert not api.condition_true(obj, "Established")


def test_only_conditions_with_status_true_hold() -> None:
    crd = {
        "status": {
            "conditions": [
                {"type": "NamesAccepted", "status": "True"},
                {"type": "Established", "status": "False"},
                {"type": "DiskPressure", "status": "Unknown"},
            ]
        }
    }
    assert api.true_conditions(crd) == {"NamesAccepted"}
    assert not api.condition_true(crd, "Established")
