#!/usr/bin/env bash
# Build the offline network-fault helper image `demo-netfault:0.1.0`: the
# netfault binary (this workspace's netfault/ crate) with Debian's tc
# (iproute2) and iptables (nf_tables and legacy), FROM scratch.
#
# Usage: scripts/build-netfault-image.sh [--force]
#
# Idempotent: builds netfault (cargo build --release -p netfault) and rebuilds
# the image only if its label demo.netfault.sha256 differs from the fresh
# binary's hash (or with --force). Installs iproute2/iptables with apt-get when
# they are missing. Tag: $NETFAULT_IMAGE_TAG, default demo-netfault:0.1.0.
set -euo pipefail

TAG="${NETFAULT_IMAGE_TAG:-demo-netfault:0.1.0}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DOCKERFILE="$ROOT/clusters/netfault/Dockerfile"
# shellcheck source=lib/rootfs.sh
source "$HERE/lib/rootfs.sh"
LABEL=demo.netfault.sha256

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg (expected --force)" >&2; exit 2 ;;
    esac
done

need=()
[[ -x /usr/sbin/tc ]] || need+=(iproute2)
[[ -x /usr/sbin/xtables-nft-multi && -x /usr/sbin/xtables-legacy-multi ]] || need+=(iptables)
if [[ ${#need[@]} -gt 0 ]]; then
    echo "installing Debian's ${need[*]}"
    as_root=(env DEBIAN_FRONTEND=noninteractive)
    [[ $(id -u) -eq 0 ]] || as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
    if ! "${as_root[@]}" apt-get install -y --no-install-recommends "${need[@]}"; then
        "${as_root[@]}" apt-get update
        "${as_root[@]}" apt-get install -y --no-install-recommends "${need[@]}"
    fi
fi

BIN="$(built_binary "$ROOT" netfault)"
sha="$(sha256sum "$BIN" | cut -d' ' -f1)"
if [[ $force -eq 0 ]] && image_is_current "$TAG" "$LABEL" "$sha" netfault; then
    exit 0
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/usr/sbin" "$root/run" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
chmod 755 "$root/run"
cp "$BIN" "$root/usr/local/bin/netfault"
cp -L /usr/sbin/tc /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi "$root/usr/sbin/"
# xtables-*-multi pick their personality from argv[0].
for name in iptables iptables-nft iptables-save iptables-restore iptables-nft-save iptables-nft-restore; do
    ln -s xtables-nft-multi "$root/usr/sbin/$name"
done
for name in iptables-legacy iptables-legacy-save iptables-legacy-restore; do
    ln -s xtables-legacy-multi "$root/usr/sbin/$name"
done

# The multiarch directory (x86_64-linux-gnu) from where libc lives.
multiarch="$(basename "$(dirname "$(ldd /usr/sbin/tc | awk '$1 == "libc.so.6" { print $3 }')")")"
dlopened=()
# iptables dlopens its match/target extensions (libxt_statistic.so,
# libxt_NFQUEUE.so, ...); tc its m_xt.so and netem's distribution tables.
for dir in "/usr/lib/$multiarch/xtables" "/usr/lib/$multiarch/tc"; do
    if [[ -d $dir ]]; then
        mkdir -p "$root$dir"
        cp -a "$dir/." "$root$dir/"
        while IFS= read -r so; do dlopened+=("$so"); done < <(find "$dir" -name '*.so' -type f)
    fi
done
[[ -d /etc/iproute2 ]] && cp -a /etc/iproute2 "$root/etc/"
[[ -d /usr/share/iproute2 ]] && mkdir -p "$root/usr/share" && cp -a /usr/share/iproute2 "$root/usr/share/"
# Protocol names for `-p udp` and `iptables -S` (iptables has a fallback table too).
[[ -f /etc/protocols ]] && cp /etc/protocols "$root/etc/"

copy_libraries "$root" "$BIN" /usr/sbin/tc /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi "${dlopened[@]}"

cp "$DOCKERFILE" "$ctx/Dockerfile"
replace_image "$TAG" "$ctx" \
    --label "$LABEL=$sha" \
    --label "org.opencontainers.image.title=demo-netfault" \
    --label "org.opencontainers.image.version=${TAG##*:}" \
    --label "org.opencontainers.image.description=network-fault helper: netfault with Debian's tc and iptables, FROM scratch"
