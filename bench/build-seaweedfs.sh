#!/usr/bin/env bash
# Builds SeaweedFS's weed program, the benchmark's S3 server: build-seaweedfs.sh OUTPUT_DIR
# bench/seaweedfs.py runs this file with the input from bench/versions.py and caches
# the result under .tools/seaweedfs/.
#
# Input (environment, from bench.versions.SeaweedfsRelease.build_environment()):
#   SEAWEEDFS_MODULE    module and pseudo-version, "github.com/seaweedfs/seaweedfs@v0.0.0-...-7506e5f91cd6"
#   SEAWEEDFS_RELEASE   the release number that version reports, "4.53" (checked)
#
# `go install MODULE/weed@VERSION` refuses this module: its go.mod has a replace
# directive. So weed is built inside the module's own source in the module cache, as
# the main module, with upstream's go.mod and go.sum (the dependency versions upstream
# tested), pure Go (CGO_ENABLED=0, as upstream's images are built).
set -euo pipefail

output="${1:?usage: build-seaweedfs.sh OUTPUT_DIR}"
: "${SEAWEEDFS_MODULE:?SEAWEEDFS_MODULE is not set}"
: "${SEAWEEDFS_RELEASE:?SEAWEEDFS_RELEASE is not set}"
module=${SEAWEEDFS_MODULE%@*}
commit=${SEAWEEDFS_MODULE##*-}

fail() {
	printf 'build-seaweedfs.sh: %s\n' "$*" >&2
	exit 1
}
step() {
	printf 'build-seaweedfs.sh: %s (%ss)\n' "$*" "$SECONDS" >&2
}

command -v go >/dev/null || fail "the Go toolchain is needed (Go 1.26 or newer)"
[[ -d "$output" ]] || fail "the output folder $output does not exist"
output="$(cd "$output" && pwd)"

step "downloading $SEAWEEDFS_MODULE"
go mod download "$SEAWEEDFS_MODULE" || fail "the Go module proxy did not serve $SEAWEEDFS_MODULE"
source_dir=$(go list -m -f '{{.Dir}}' "$SEAWEEDFS_MODULE")
[[ -f "$source_dir/weed/weed.go" ]] || fail "$SEAWEEDFS_MODULE has no weed/weed.go (in $source_dir)"

step "building weed (about 4 minutes on 2 cores with an empty Go cache)"
cd "$source_dir"
# -mod=readonly: the module cache is read-only, and go.sum must already cover the build.
CGO_ENABLED=0 go build -mod=readonly -trimpath \
	-ldflags "-s -w -X $module/weed/util/version.COMMIT=$commit" \
	-o "$output/weed.tmp" ./weed
reported=$("$output/weed.tmp" version 2>/dev/null) || fail "the built weed does not run"
[[ "$reported" == *" $SEAWEEDFS_RELEASE $commit "* ]] ||
	fail "the built weed reports '$reported', expected release $SEAWEEDFS_RELEASE at commit $commit"
mv "$output/weed.tmp" "$output/weed"
step "built $output/weed ($reported)"
