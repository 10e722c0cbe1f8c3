#!/usr/bin/env bash
# Build the offline load-generator image `demo-loadgen:0.1.0`: this
# workspace's loadgen binary FROM scratch, for clusters whose members the
# presenter's machine cannot reach by name (clusters/etcd/stack.yaml).
#
# Usage: scripts/build-loadgen-image.sh [--force]
#
# Idempotent: builds loadgen (cargo build --release -p loadgen) and rebuilds
# the image only if its label demo.loadgen.sha256 differs from the fresh
# binary's hash (or with --force). Tag: $LOADGEN_IMAGE_TAG, default
# demo-loadgen:0.1.0.
set -euo pipefail

TAG="${LOADGEN_IMAGE_TAG:-demo-loadgen:0.1.0}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DOCKERFILE="$ROOT/clusters/loadgen/Dockerfile"
LABEL=demo.loadgen.sha256
# shellcheck source=lib/rootfs.sh
source "$HERE/lib/rootfs.sh"

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg (expected --force)" >&2; exit 2 ;;
    esac
done

BIN="$(built_binary "$ROOT" loadgen)"
sha="$(sha256sum "$BIN" | cut -d' ' -f1)"
if [[ $force -eq 0 ]] && image_is_current "$TAG" "$LABEL" "$sha" loadgen; then
    exit 0
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
cp "$BIN" "$root/usr/local/bin/loadgen"
copy_libraries "$root" "$BIN"

cp "$DOCKERFILE" "$ctx/Dockerfile"
replace_image "$TAG" "$ctx" \
    --label "$LABEL=$sha" \
    --label "org.opencontainers.image.title=demo-loadgen" \
    --label "org.opencontainers.image.version=${TAG##*:}" \
    --label "org.opencontainers.image.description=the demo's etcd load generator, FROM scratch"
