#!/usr/bin/env bash
# Builds the pause program (the process of every pod's sandbox) from
# build/pause/linux/pause.c of the Go module k8s.io/kubernetes: build-pause.sh OUTPUT_DIR
#
# Input (environment, from cluster.versions.KubernetesRelease.pause_build_environment()):
#   KUBERNETES_VERSION  the release whose source is used, "v1.35.4"
#   PAUSE_VERSION       the pause version that source declares (checked), "3.10.1"
set -euo pipefail
# shellcheck source=cluster/build/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$(output_dir "${1:-}")
: "${KUBERNETES_VERSION:?KUBERNETES_VERSION is not set}"
: "${PAUSE_VERSION:?PAUSE_VERSION is not set}"
require_go
command -v gcc >/dev/null || fail "gcc is needed (Debian packages gcc and libc6-dev)"

step "finding build/pause in k8s.io/kubernetes@$KUBERNETES_VERSION"
source_dir=$(go_module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")
pause_dir="$source_dir/build/pause"
[[ -f "$pause_dir/linux/pause.c" ]] || fail "k8s.io/kubernetes@$KUBERNETES_VERSION has no build/pause/linux/pause.c"
declared=$(sed -n 's/^TAG[[:space:]]*?=[[:space:]]*\([^[:space:]]*\).*/\1/p' "$pause_dir/Makefile")
[[ "$declared" == "$PAUSE_VERSION" ]] ||
	fail "build/pause/Makefile of k8s.io/kubernetes@$KUBERNETES_VERSION declares pause ${declared:-(none)}, expected $PAUSE_VERSION"

step "compiling pause $PAUSE_VERSION (gcc -static)"
# The flags of build/pause/Makefile; its REV (a git description) becomes the Kubernetes version.
gcc -Os -Wall -Werror -static -s "-DVERSION=v$PAUSE_VERSION-$KUBERNETES_VERSION" \
	-o "$out/pause" "$pause_dir/linux/pause.c"
reported=$("$out/pause" -v) || fail "the built pause does not run"
[[ "$reported" == "pause.c v$PAUSE_VERSION-"* ]] || fail "the built pause reports '$reported'"
step "built $out/pause"
