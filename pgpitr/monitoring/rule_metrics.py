"""Which metrics pgpitr's alert rules read from postgres_exporter: every name a rule
selects (`name{...}`), less Prometheus' own series and kube-state-metrics'. A rule on a
name the exporter does not produce never fires, so the tests and the cluster scenario
scrape a real exporter for exactly these."""

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

NOT_FROM_THE_EXPORTER: Final = frozenset({"up", "time"})
KUBE_STATE_METRICS_PREFIX: Final = "kube_"
_SELECTED_METRIC = re.compile(r"\b([a-z_][a-z0-9_]*)\{")


def exporter_metric_names(groups: Iterable[Mapping[str, Any]]) -> set[str]:
    """The exporter's metrics the rules of a PrometheusRule's `spec.groups` select."""
    selected: set[str] = set()
    for group in groups:
        for rule in group["rules"]:
            selected |= set(_SELECTED_METRIC.findall(str(rule["expr"])))
    return {
        name
        for name in selected
        if name not in NOT_FROM_THE_EXPORTER and not name.startswith(KUBE_STATE_METRICS_PREFIX)
    }
