#!/usr/bin/env bash
# Builds Kubernetes' programs from the Go module k8s.io/kubernetes, in one `go build`:
# build-kubernetes.sh OUTPUT_DIR
#
# Input (environment, from cluster.versions.KubernetesRelease.build_environment()):
#   KUBERNETES_VERSION          the release, "v1.35.4"
#   KUBERNETES_STAGING_VERSION  the version its staging modules are published at, "v0.35.4"
#   KUBERNETES_COMMANDS         folders under cmd/, space-separated: "kube-apiserver ... kubectl"
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces its staging modules
# (k8s.io/api, k8s.io/client-go, ...) by folders of its repository and requires them at
# v0.0.0, which the proxy does not serve. A wrapper module requires it, replaces each
# staging module its go.mod lists by that module at the staging version, copies its
# godebug settings, and builds every program at once (shared packages compile once).
set -euo pipefail
# shellcheck source=cluster/build/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$(output_dir "${1:-}")
: "${KUBERNETES_VERSION:?KUBERNETES_VERSION is not set}"
: "${KUBERNETES_STAGING_VERSION:?KUBERNETES_STAGING_VERSION is not set}"
: "${KUBERNETES_COMMANDS:?KUBERNETES_COMMANDS is not set}"
require_go
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "downloading k8s.io/kubernetes@$KUBERNETES_VERSION"
source_dir=$(go_module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")

cd "$work"
go mod init pgpitr.local/kubernetes-build 2>/dev/null
edits=("-require=k8s.io/kubernetes@$KUBERNETES_VERSION")
staging=0
while read -r module arrow target _; do
	[[ "$arrow" == "=>" && "$target" == ./staging/* ]] || continue
	[[ "$target" == "./staging/src/$module" ]] ||
		fail "k8s.io/kubernetes' go.mod replaces $module by $target, not by its staging folder"
	edits+=("-replace=$module=$module@$KUBERNETES_STAGING_VERSION")
	staging=$((staging + 1))
done < <(go_mod_entries "$source_dir/go.mod" replace)
((staging > 0)) || fail "no staging modules found in the replace directives of k8s.io/kubernetes' go.mod"
while read -r setting; do
	edits+=("-godebug=$setting")
done < <(go_mod_entries "$source_dir/go.mod" godebug)
packages=()
for command in $KUBERNETES_COMMANDS; do
	[[ -d "$source_dir/cmd/$command" ]] || fail "k8s.io/kubernetes@$KUBERNETES_VERSION has no cmd/$command"
	packages+=("k8s.io/kubernetes/cmd/$command")
	edits+=("-tool=k8s.io/kubernetes/cmd/$command")
done
go mod edit "${edits[@]}"

step "resolving dependencies ($staging staging modules at $KUBERNETES_STAGING_VERSION)"
go mod tidy

release=${KUBERNETES_VERSION#v}
major=${release%%.*}
minor=${release#*.}
minor=${minor%%.*}
# Without these the programs say v0.0.0-master, which kubectl refuses to parse.
ldflags="-s -w"
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $package.gitVersion=$KUBERNETES_VERSION -X $package.gitMajor=$major"
	ldflags+=" -X $package.gitMinor=$minor -X $package.gitTreeState=clean"
done
step "building $KUBERNETES_COMMANDS (one go build, about 5 minutes with an empty Go cache)"
go build -trimpath -ldflags "$ldflags" -o "$out/" "${packages[@]}"

reported=$("$out/kubectl" version --client 2>&1) || fail "the built kubectl does not run: $reported"
[[ "$reported" == *"Client Version: $KUBERNETES_VERSION"* ]] ||
	fail "the built kubectl reports '${reported//$'\n'/ }', expected $KUBERNETES_VERSION"
keep_module_files "$out"
step "built $KUBERNETES_COMMANDS in $out"
