#!/usr/bin/env bash
# Builds Pulumi's Kubernetes provider plugin, pulumi-resource-kubernetes:
# build-pulumi-kubernetes.sh OUTPUT_DIR
#
# Input (environment, from cluster.versions.PulumiKubernetesRelease.build_environment()):
#   PULUMI_KUBERNETES_VERSION   the release, "4.25.0"
#   PULUMI_KUBERNETES_PROVIDER  the provider module at that release's commit
#                               ("github.com/pulumi/pulumi-kubernetes/provider/v4@v4.0.0-2026...")
#   PULUMI_KUBERNETES_SDK       the SDK module at the release's tag, which the provider's
#                               go.mod takes from the repository's folder ../sdk
#
# The provider's main package embeds files that its generate.go makes (the schema with the
# release's version in it): the four files of cmd/pulumi-resource-kubernetes are copied
# into a wrapper module, generate.go runs there, and the wrapper builds.
set -euo pipefail
# shellcheck source=cluster/build/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$(output_dir "${1:-}")
: "${PULUMI_KUBERNETES_VERSION:?PULUMI_KUBERNETES_VERSION is not set}"
: "${PULUMI_KUBERNETES_PROVIDER:?PULUMI_KUBERNETES_PROVIDER is not set}"
: "${PULUMI_KUBERNETES_SDK:?PULUMI_KUBERNETES_SDK is not set}"
provider=${PULUMI_KUBERNETES_PROVIDER%@*}
sdk=${PULUMI_KUBERNETES_SDK%@*}
require_go
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "downloading $PULUMI_KUBERNETES_PROVIDER"
provider_dir=$(go_module_dir "$PULUMI_KUBERNETES_PROVIDER")
while read -r old arrow new _; do
	[[ "$arrow" == "=>" ]] || continue
	[[ "$old" == "$sdk" && "$new" == ../sdk ]] ||
		fail "$PULUMI_KUBERNETES_PROVIDER replaces $old by $new, which the wrapper module does not repeat"
done < <(go_mod_entries "$provider_dir/go.mod" replace)

cd "$work"
go mod init pgpitr.local/pulumi-kubernetes-build 2>/dev/null
for file in main.go generate.go schema.json terraform-mapping.json; do
	[[ -f "$provider_dir/cmd/pulumi-resource-kubernetes/$file" ]] ||
		fail "$PULUMI_KUBERNETES_PROVIDER has no cmd/pulumi-resource-kubernetes/$file"
	install -m 0644 "$provider_dir/cmd/pulumi-resource-kubernetes/$file" "$file"
done
go mod edit "-require=$PULUMI_KUBERNETES_PROVIDER" "-require=$PULUMI_KUBERNETES_SDK"

step "generating the embedded schema for version $PULUMI_KUBERNETES_VERSION"
# generate.go's imports are in the provider's requirements; -mod=mod records their sums.
VERSION="$PULUMI_KUBERNETES_VERSION" GOFLAGS="${GOFLAGS:-} -mod=mod" go run ./generate.go
[[ -s schema-embed.json && -s terraform-mapping-embed.json ]] || fail "generate.go made no embedded schema"

step "resolving dependencies"
go mod tidy

step "building pulumi-resource-kubernetes (about 7 minutes with an empty Go cache)"
go build -trimpath \
	-ldflags "-s -w -X $provider/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
	-o "$out/pulumi-resource-kubernetes" .
[[ -x "$out/pulumi-resource-kubernetes" ]] || fail "go build left no pulumi-resource-kubernetes"
keep_module_files "$out"
step "built $out/pulumi-resource-kubernetes"
