#!/usr/bin/env bash
# Builds CoreDNS, the cluster's DNS server: build-coredns.sh OUTPUT_DIR
#
# Input (environment, from cluster.versions.CorednsRelease.build_environment()):
#   COREDNS_MODULE  module and tag, "github.com/coredns/coredns@v1.12.1"
set -euo pipefail
# shellcheck source=cluster/build/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$(output_dir "${1:-}")
: "${COREDNS_MODULE:?COREDNS_MODULE is not set}"
require_go
version=${COREDNS_MODULE##*@}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" # outside any module: go install uses CoreDNS' own go.mod

step "building $COREDNS_MODULE (go install, about 2 minutes with an empty Go cache)"
GOBIN="$out" go install -trimpath -ldflags "-s -w" "$COREDNS_MODULE"
reported=$("$out/coredns" -version 2>&1) || fail "the built coredns does not run: $reported"
[[ "$reported" == *"CoreDNS-${version#v}"* ]] ||
	fail "the built coredns reports '${reported//$'\n'/ }', expected CoreDNS-${version#v}"
step "built $out/coredns"
