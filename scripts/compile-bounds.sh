#!/usr/bin/env bash
# `host inspect` on each compile bomb (tests/support/bombs.rs) and on the
# Python flow, cold (empty compile cache): wall time, peak RSS (the largest of
# the host and its compile child: GNU time reports the reaped process's
# maximum, children included) and the first line the host said.
#
#   scripts/compile-bounds.sh [HOST_BINARY]    (default: target/debug/host)
#
# BOMBS=GLOB picks bombs by name (e.g. BOMBS='edge-*'); FLOWS=0 skips the
# shipped flows.
#
# A host without the bounds can take GBs on a bomb: every run is under
# `prlimit --as` (AS_MIB, default 6144) and `timeout` (SECONDS, default 90),
# so a "before" measurement cannot take the machine down.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
host="${1:-$target/debug/host}"
as_mib="${AS_MIB:-6144}"
seconds="${SECONDS_LIMIT:-90}"
bombs="$target/compile-bombs"

COMPILE_BOMBS_DIR="$bombs" cargo test -q -p e2e --test compile_bounds -- \
    --ignored write_compile_bombs >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

measure() {
    local file="$1"
    rm -rf "$work/cache" "$work/state"
    mkdir -p "$work/cache" "$work/state"
    local status=0
    CHAOS_DEMO_CACHE_DIR="$work/cache" /usr/bin/time -f '%e %M' -o "$work/time" \
        prlimit --as=$((as_mib << 20)) timeout -s KILL "$seconds" \
        "$host" inspect "$file" --state-dir "$work/state" \
        >/dev/null 2>"$work/err" || status=$?
    read -r wall rss_kb < <(tail -n 1 "$work/time")
    local said
    said="$({ grep -v '^Command' "$work/err" || true; } | head -n 1 | sed "s|$file|FILE|" | cut -c 1-170)"
    [ -z "$said" ] && [ "$status" = 0 ] && said="inspected"
    [ "$status" = 137 ] && said="killed at the ${seconds} s timeout"
    local cached
    cached="$(du -sk "$work/cache" | cut -f 1)"
    printf '%-22s %8s KB  %7s s  %6s MB  cache %6s KB  exit %3s  %s\n' \
        "$(basename "$file")" "$(( $(stat -c %s "$file") / 1024 ))" "$wall" \
        "$(( rss_kb / 1024 ))" "$cached" "$status" "$said"
}

echo "host: $host (AS cap ${as_mib} MiB, ${seconds} s)"
for f in "$bombs"/${BOMBS:-*}.wasm; do
    measure "$f"
done
[ "${FLOWS:-1}" = 0 ] && exit 0
for f in "$target/python/etcd-py.wasm" "$target/wasm32-wasip2/release/etcd.wasm"; do
    [ -f "$f" ] && for _ in 1 2 3; do measure "$f"; done
done
