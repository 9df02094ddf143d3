#!/usr/bin/env bash
# Builds WAL-G for PostgreSQL from the Go module proxy: build-walg.sh OUTPUT
# The image's builder stage and the local setup (make setup) both run this file.
# Input: WALG_GO_VERSION (the release commit's pseudo-version, from pgpitr/versions.py),
# WALG_COMMIT (checked against the module's origin), WALG_BUILD_TAGS (e.g. brotli,libsodium).
# Building inside the downloaded module (not `go install pkg@version`) keeps WAL-G's own
# go.mod in charge, replace directives included.
set -euo pipefail

output="${1:?usage: build-walg.sh OUTPUT}"
: "${WALG_GO_VERSION:?WALG_GO_VERSION is not set}"
: "${WALG_COMMIT:?WALG_COMMIT is not set}"
: "${WALG_BUILD_TAGS:?WALG_BUILD_TAGS is not set}"

info=$(GOFLAGS=-mod=mod go mod download -json "github.com/wal-g/wal-g@${WALG_GO_VERSION}" 2>&1) || true
module_dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
origin_hash=$(sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)",\{0,1\}$/\1/p' <<<"$info")
if [[ -z "$module_dir" ]]; then
	printf 'build-walg.sh: could not download github.com/wal-g/wal-g@%s:\n%s\n' "$WALG_GO_VERSION" "$info" >&2
	exit 1
fi
if [[ -n "$origin_hash" && "$origin_hash" != "$WALG_COMMIT" ]]; then
	printf 'build-walg.sh: module origin is commit %s, expected %s\n' "$origin_hash" "$WALG_COMMIT" >&2
	exit 1
fi

mkdir -p "$(dirname "$output")"
output="$(cd "$(dirname "$output")" && pwd)/$(basename "$output")"
cd "$module_dir"
CGO_ENABLED=1 go build -trimpath -tags "$WALG_BUILD_TAGS" -o "$output.tmp" ./main/pg
mv "$output.tmp" "$output"
