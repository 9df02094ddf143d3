#!/usr/bin/env bash
# Generates the Prometheus Operator CRDs pgpitr's stack uses (PodMonitor, PrometheusRule):
# build-monitoring-crds.sh OUTPUT_DIR
#
# Input (environment, from cluster.versions.MonitoringCrdsRelease.build_environment()):
#   MONITORING_APIS_MODULE  the operator's API types, "github.com/prometheus-operator/
#                           prometheus-operator/pkg/apis/monitoring@v0.95.2"
#   CONTROLLER_GEN_MODULE   "sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0"
#   MONITORING_CRD_FILES    the files to keep, controller-gen's names, space-separated
#
# The operator publishes its CRDs generated from these types by controller-gen; its own
# module is refused by the Go module proxy here, the types' module is not. The types'
# folder in the module cache is read-only, so controller-gen runs on a copy of it.
set -euo pipefail
# shellcheck source=cluster/build/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$(output_dir "${1:-}")
: "${MONITORING_APIS_MODULE:?MONITORING_APIS_MODULE is not set}"
: "${CONTROLLER_GEN_MODULE:?CONTROLLER_GEN_MODULE is not set}"
: "${MONITORING_CRD_FILES:?MONITORING_CRD_FILES is not set}"
require_go
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

step "building $CONTROLLER_GEN_MODULE (go install, about a minute with an empty Go cache)"
(cd "$work" && GOBIN="$work/bin" go install -trimpath "$CONTROLLER_GEN_MODULE")
[[ -x "$work/bin/controller-gen" ]] || fail "go install left no controller-gen"

step "downloading $MONITORING_APIS_MODULE"
apis_dir=$(go_module_dir "$MONITORING_APIS_MODULE")
cp -R "$apis_dir" "$work/apis"
chmod -R u+w "$work/apis"

step "generating the CRDs of monitoring.coreos.com/v1"
(cd "$work/apis" && go mod download && "$work/bin/controller-gen" crd:crdVersions=v1 paths=./v1 "output:crd:dir=$work/crds")
for file in $MONITORING_CRD_FILES; do
	[[ -s "$work/crds/$file" ]] || fail "controller-gen made no $file"
	grep -q '^kind: CustomResourceDefinition$' "$work/crds/$file" || fail "$file is not a CustomResourceDefinition"
	install -m 0644 "$work/crds/$file" "$out/$file"
done
"$work/bin/controller-gen" --version >"$out/controller-gen.version"
step "generated $MONITORING_CRD_FILES in $out"
