#!/usr/bin/env bash
# Builds WAL-G for PostgreSQL (main/pg) from source: build-walg.sh OUTPUT
# Beside OUTPUT it also builds walg-daemon-client (cmd/daemonclient), the small client of
# `wal-g daemon` that restore_command calls (docker/bin/pgpitr-wal-fetch).
# The image's builder stage and the local setup (make setup) both run this file, with
# the same inputs from pgpitr/versions.py, so they build the same commit the same way.
#
# Input (environment):
#   WALG_TAG, WALG_COMMIT        the release and its commit (checked)
#   WALG_BUILD_TAGS              cgo features, comma-separated: "brotli,libsodium,lzo"
#   WALG_GOEXPERIMENT            Go experiments WAL-G needs ("jsonv2" for v3.0.9)
#   WALG_SOURCE_TARBALL          optional: a source tarball to build instead of cloning
#   WALG_SOURCE_SHA256           its sha256 (required with the tarball)
#   WALG_REPOSITORY              upstream to clone when there is no tarball
#
# The Go module proxy refuses github.com/yandex-cloud/go-sdk/services/kms, which WAL-G
# needs only for Yandex Cloud KMS (not used by pgpitr): it is replaced by the local
# module walg-yckms-stub/ beside this script, whose calls all fail.
set -euo pipefail

output="${1:?usage: build-walg.sh OUTPUT}"
: "${WALG_TAG:?WALG_TAG is not set}"
: "${WALG_COMMIT:?WALG_COMMIT is not set}"
: "${WALG_BUILD_TAGS:?WALG_BUILD_TAGS is not set}"
: "${WALG_GOEXPERIMENT:?WALG_GOEXPERIMENT is not set}"
stub_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/walg-yckms-stub"

fail() {
	printf 'build-walg.sh: %s\n' "$*" >&2
	exit 1
}
step() {
	printf 'build-walg.sh: %s (%ss)\n' "$*" "$SECONDS" >&2
}

[[ -f "$stub_dir/go.mod" ]] || fail "the Yandex KMS stand-in module is missing at $stub_dir"
command -v go >/dev/null || fail "the Go toolchain is needed (Go 1.25 or newer)"

mkdir -p "$(dirname "$output")"
output="$(cd "$(dirname "$output")" && pwd)/$(basename "$output")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ -n "${WALG_SOURCE_TARBALL:-}" ]]; then
	: "${WALG_SOURCE_SHA256:?WALG_SOURCE_SHA256 is not set (required with WALG_SOURCE_TARBALL)}"
	[[ -f "$WALG_SOURCE_TARBALL" ]] || fail "source tarball $WALG_SOURCE_TARBALL does not exist"
	actual=$(sha256sum "$WALG_SOURCE_TARBALL" | cut -d' ' -f1)
	[[ "$actual" == "$WALG_SOURCE_SHA256" ]] ||
		fail "source tarball $WALG_SOURCE_TARBALL has sha256 $actual, expected $WALG_SOURCE_SHA256"
	step "unpacking WAL-G $WALG_TAG from $WALG_SOURCE_TARBALL (sha256 checked)"
	tar -C "$work" -xJf "$WALG_SOURCE_TARBALL"
	source_dir=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
else
	: "${WALG_REPOSITORY:?WALG_REPOSITORY is not set (needed without WALG_SOURCE_TARBALL)}"
	step "cloning WAL-G $WALG_TAG from $WALG_REPOSITORY"
	git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$WALG_TAG" "$WALG_REPOSITORY" "$work/wal-g"
	source_dir="$work/wal-g"
	head=$(git -C "$source_dir" rev-parse HEAD)
	[[ "$head" == "$WALG_COMMIT" ]] || fail "tag $WALG_TAG is commit $head, expected $WALG_COMMIT"
fi
[[ -f "$source_dir/main/pg/main.go" ]] || fail "no main/pg in the WAL-G source at $source_dir"

cp -r "$stub_dir" "$source_dir/.pgpitr-yckms-stub"
(cd "$source_dir" && go mod edit -replace "github.com/yandex-cloud/go-sdk/services/kms=./.pgpitr-yckms-stub")

step "building main/pg with tags '$WALG_BUILD_TAGS' (about 2 minutes with an empty Go cache)"
cd "$source_dir"
GOEXPERIMENT="$WALG_GOEXPERIMENT" CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath \
	-tags "$WALG_BUILD_TAGS" \
	-ldflags "-s -w -X github.com/wal-g/wal-g/cmd/pg.walgVersion=$WALG_TAG -X github.com/wal-g/wal-g/cmd/pg.gitRevision=$WALG_COMMIT" \
	-o "$output.tmp" ./main/pg
"$output.tmp" --version >/dev/null || fail "the built wal-g does not run"
client="$(dirname "$output")/walg-daemon-client"
step "building cmd/daemonclient"
GOEXPERIMENT="$WALG_GOEXPERIMENT" CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
	-ldflags "-s -w -X main.version=$WALG_TAG -X main.gitRevision=$WALG_COMMIT" \
	-o "$client.tmp" ./cmd/daemonclient
[[ "$("$client.tmp" --version)" == *"$WALG_TAG"* ]] || fail "the built walg-daemon-client does not run"
mv "$client.tmp" "$client"
mv "$output.tmp" "$output"
step "built $output and $client"
