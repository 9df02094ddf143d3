#!/usr/bin/env bash
# Builds the Pulumi CLI and its Python language host: build-pulumi.sh OUTPUT_DIR
# OUTPUT_DIR then holds pulumi, pulumi-language-python and pulumi-language-python-exec,
# the three programs the CLI needs on PATH to run a Python program.
#
# Input (environment, from cluster.versions.PulumiRelease.build_environment()):
#   PULUMI_VERSION                the CLI's release, "v3.274.1"
#   PULUMI_REPLACEMENTS           pkg/v3's own non-local replace directives, space-separated
#                                 "old=new@version" (checked against its go.mod)
#   PULUMI_LANGUAGE_HOST_VERSION  the language host's source release, "3.259.0"
#   PULUMI_LANGUAGE_HOST_TARBALL  that source: main.go, go.mod, go.sum in
#                                 pulumi-language-python-<version>/
#   PULUMI_LANGUAGE_HOST_SHA256   its sha256 (checked)
#
# `go install` of the CLI is refused because pkg/v3's go.mod has replace directives: a
# wrapper module requires pkg/v3 and sdk/v3 at the release and repeats the replacements.
# The proxy refuses the language host's module at every version; its main.go builds as a
# package of the same wrapper, whose requirements start from the host's own go.mod so that
# the modules only the host needs are the versions upstream pinned, not the newest.
set -euo pipefail
# shellcheck source=cluster/build/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$(output_dir "${1:-}")
: "${PULUMI_VERSION:?PULUMI_VERSION is not set}"
: "${PULUMI_REPLACEMENTS?PULUMI_REPLACEMENTS is not set}"
: "${PULUMI_LANGUAGE_HOST_VERSION:?PULUMI_LANGUAGE_HOST_VERSION is not set}"
: "${PULUMI_LANGUAGE_HOST_TARBALL:?PULUMI_LANGUAGE_HOST_TARBALL is not set}"
: "${PULUMI_LANGUAGE_HOST_SHA256:?PULUMI_LANGUAGE_HOST_SHA256 is not set}"
pkg=github.com/pulumi/pulumi/pkg/v3
sdk=github.com/pulumi/pulumi/sdk/v3

[[ -f "$PULUMI_LANGUAGE_HOST_TARBALL" ]] ||
	fail "the language host's source $PULUMI_LANGUAGE_HOST_TARBALL does not exist (../shared/third_party/pulumi/ beside the clone)"
actual=$(sha256sum "$PULUMI_LANGUAGE_HOST_TARBALL" | cut -d' ' -f1)
[[ "$actual" == "$PULUMI_LANGUAGE_HOST_SHA256" ]] ||
	fail "$PULUMI_LANGUAGE_HOST_TARBALL has sha256 $actual, expected $PULUMI_LANGUAGE_HOST_SHA256"
require_go
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "unpacking the Python language host $PULUMI_LANGUAGE_HOST_VERSION (sha256 checked)"
host="pulumi-language-python-$PULUMI_LANGUAGE_HOST_VERSION"
tar -C "$work" -xJf "$PULUMI_LANGUAGE_HOST_TARBALL" "$host/main.go" "$host/go.mod"
mkdir -p "$work/module/cmd/pulumi-language-python"
mv "$work/$host/main.go" "$work/module/cmd/pulumi-language-python/main.go"

step "downloading $pkg@$PULUMI_VERSION"
pkg_dir=$(go_module_dir "$pkg@$PULUMI_VERSION")
declared=()
while read -r old arrow new version _; do
	[[ "$arrow" == "=>" && "$new" != .* && "$new" != /* ]] || continue # local folders: required below
	declared+=("$old=$new@$version")
done < <(go_mod_entries "$pkg_dir/go.mod" replace)
[[ "${declared[*]}" == "$PULUMI_REPLACEMENTS" ]] ||
	fail "$pkg@$PULUMI_VERSION replaces '${declared[*]}', cluster/versions.py pins '$PULUMI_REPLACEMENTS'"

cd "$work/module"
go mod init pgpitr.local/pulumi-build 2>/dev/null
edits=()
while read -r module version _; do
	[[ "$module" == "$pkg" || "$module" == "$sdk" ]] && continue
	edits+=("-require=$module@$version")
done < <(go_mod_entries "$work/$host/go.mod" require)
edits+=("-require=$pkg@$PULUMI_VERSION" "-require=$sdk@$PULUMI_VERSION" "-tool=$pkg/cmd/pulumi")
for replacement in $PULUMI_REPLACEMENTS; do
	edits+=("-replace=$replacement")
done
go mod edit "${edits[@]}"

step "resolving dependencies"
go mod tidy

step "building pulumi and pulumi-language-python (about 4 to 8 minutes with an empty Go cache)"
go build -trimpath -ldflags "-s -w -X $sdk/go/common/version.Version=$PULUMI_VERSION" \
	-o "$out/" "$pkg/cmd/pulumi" ./cmd/pulumi-language-python

# The language host runs the program through this script, found on PATH.
sdk_dir=$(go list -m -f '{{.Dir}}' "$sdk")
exec_script="$sdk_dir/python/cmd/pulumi-language-python-exec"
[[ -f "$exec_script" ]] || fail "$sdk@$PULUMI_VERSION has no python/cmd/pulumi-language-python-exec"
install -m 0755 "$exec_script" "$out/pulumi-language-python-exec"

reported=$("$out/pulumi" version 2>&1) || fail "the built pulumi does not run: $reported"
[[ "$reported" == "$PULUMI_VERSION" ]] || fail "the built pulumi reports '${reported//$'\n'/ }', expected $PULUMI_VERSION"
keep_module_files "$out"
step "built pulumi, pulumi-language-python and pulumi-language-python-exec in $out"
