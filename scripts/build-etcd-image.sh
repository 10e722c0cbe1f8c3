#!/usr/bin/env bash
# Build the offline etcd image `demo-etcd:3.4.23` from Debian's etcd-server
# package, for the three-node test cluster in clusters/etcd/.
#
# Usage: scripts/build-etcd-image.sh [--force]
#
# Idempotent: does nothing if the tag already exists (unless --force). Installs
# etcd-server with apt-get when /usr/bin/etcd is missing. No registry needed:
# the image is FROM scratch, holding etcd and the libraries ldd reports.
set -euo pipefail

TAG="${ETCD_IMAGE_TAG:-demo-etcd:3.4.23}"
ETCD_BIN=/usr/bin/etcd
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DOCKERFILE="$HERE/../clusters/etcd/Dockerfile"
# shellcheck source=lib/rootfs.sh
source "$HERE/lib/rootfs.sh"

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg (expected --force)" >&2; exit 2 ;;
    esac
done

if [[ $force -eq 0 ]] && docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "image $TAG already exists (use --force to rebuild)"
    exit 0
fi

if [[ ! -x $ETCD_BIN ]]; then
    echo "installing Debian's etcd-server (for $ETCD_BIN)"
    as_root=(env DEBIAN_FRONTEND=noninteractive)
    [[ $(id -u) -eq 0 ]] || as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
    if ! "${as_root[@]}" apt-get install -y --no-install-recommends etcd-server; then
        "${as_root[@]}" apt-get update
        "${as_root[@]}" apt-get install -y --no-install-recommends etcd-server
    fi
fi

version="$("$ETCD_BIN" --version | sed -n 's/^etcd Version: //p')"
echo "etcd binary: $ETCD_BIN (version $version)"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/var/lib/etcd" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$ETCD_BIN" "$root/usr/local/bin/etcd"

copy_libraries "$root" "$ETCD_BIN"

cp "$DOCKERFILE" "$ctx/Dockerfile"
replace_image "$TAG" "$ctx" \
    --label "org.opencontainers.image.title=demo-etcd" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.description=etcd from Debian's etcd-server package, FROM scratch"
