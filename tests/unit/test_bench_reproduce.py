"""bench.reproduce: the ratios a second run must reproduce, compared with the committed run."""

import copy
import json
from pathlib import Path
from typing import Any

from bench import reproduce

COMMITTED = Path(__file__).resolve().parents[2] / "bench" / "results.json"


def committed() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(COMMITTED.read_text())
    return loaded


def test_the_committed_results_reproduce_themselves() -> None:
    report = reproduce.compare(committed(), committed(), 0.2)
    scales = {entry["scale"] for entry in committed()["growth"]}
    assert report["ok"] and not report["not_compared"]
    assert len(report["ratios"]) == 4 * len(scales) + 1


def test_a_ratio_moved_beyond_the_tolerance_fails_and_is_named() -> None:
    new = copy.deepcopy(committed())
    largest = new["growth"][-1]
    largest["restore_s"]["walg"]["total"]["median"] *= 1.3  # WAL-G 30% slower, the others unchanged
    report = reproduce.compare(committed(), new, 0.2)
    failed = sorted(key for key, row in report["ratios"].items() if not row["ok"])
    assert not report["ok"]
    assert failed == [f"walg/pgbackrest restore @{largest['scale']}", f"walg/raw restore @{largest['scale']}"]
    assert report["ratios"][failed[0]]["change"] == 0.3


def test_scales_measured_by_one_run_only_are_listed_not_compared() -> None:
    new = copy.deepcopy(committed())
    dropped = new["growth"].pop(0)["scale"]
    report = reproduce.compare(committed(), new, 0.2)
    assert report["ok"]
    assert f"walg/raw backup @{dropped}" in report["not_compared"]


def test_unusable_input_is_one_line_and_status_2(tmp_path: Path, capsys: Any) -> None:
    broken = tmp_path / "results.json"
    broken.write_text("{}")
    assert reproduce.main([str(COMMITTED), str(broken)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
