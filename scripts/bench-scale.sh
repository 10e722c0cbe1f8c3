#!/usr/bin/env bash
# The real-Docker scale figures for BENCHMARKS.md ("Scale: 3, 30, 300
# containers"): list-nodes and Docker event → frame on a project of 3, then
# 30, then 300 idle containers (host/benches/scale_docker.rs measures; this
# script makes and removes the containers). The in-process figures are
# `cargo bench -p host --bench scale`.
#
# Usage: scripts/bench-scale.sh            (SCALE_BENCH_SIZES="3 30 300" by default)
#
# The containers run `netfault idle` (the workspace's netfault crate, linked
# statically) from a FROM-scratch image built here, `scale-bench-idle:0.1.0`:
# no registry, no network (`--network none`), no CPU. They carry the compose
# labels `com.docker.compose.project=scale-bench` and
# `com.docker.compose.service=svc00`…`svc09`, and every one of them is removed
# at the end, also on failure or Ctrl-C. Nothing else on the engine is touched.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export PROJECT=scale-bench IMAGE=scale-bench-idle:0.1.0
export LABEL="com.docker.compose.project=$PROJECT"
SIZES="${SCALE_BENCH_SIZES:-3 30 300}"
SERVICES=10

ctx="$(mktemp -d)"
remove_containers() {
    local ids
    ids="$(docker ps -aq --filter "label=$LABEL")"
    if [[ -n $ids ]]; then
        # shellcheck disable=SC2086 # one id per word
        timeout 600 docker rm -f $ids >/dev/null || echo "some $PROJECT containers could not be removed" >&2
    fi
}
cleanup() {
    remove_containers
    rm -rf "$ctx"
    left="$(docker ps -aq --filter "label=$LABEL" | wc -l)"
    echo "containers of $PROJECT left: $left"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# An interrupted earlier run's containers would change the counts.
remove_containers

# The tiny image: netfault linked statically, FROM scratch.
triple="$(rustc -vV | sed -n 's/^host: //p')"
(cd "$ROOT" && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release -p netfault --target "$triple")
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$triple/release/netfault"
[[ $BIN = /* ]] || BIN="$ROOT/$BIN"
if ldd "$BIN" 2>/dev/null | grep -q '=>'; then
    echo "$BIN is not static" >&2
    exit 1
fi
cp "$BIN" "$ctx/netfault"
printf 'FROM scratch\nCOPY netfault /netfault\nENTRYPOINT ["/netfault", "idle"]\n' >"$ctx/Dockerfile"
docker build --quiet --tag "$IMAGE" \
    --label "org.opencontainers.image.description=scale bench: netfault idle, FROM scratch" \
    "$ctx" >/dev/null
echo "image $IMAGE: $(docker image inspect --format '{{.Size}}' "$IMAGE") bytes"

(cd "$ROOT" && cargo bench -p host --bench scale_docker --no-run)

start_containers() { # start_containers FROM TO: containers FROM..TO-1
    local i
    for ((i = $1; i < $2; i++)); do
        printf 'svc%02d %d\n' $((i % SERVICES)) $((i / SERVICES + 1))
    done | xargs -P 4 -n 2 sh -c \
        'timeout 60 docker run -d --network none --label "$LABEL" \
            --label "com.docker.compose.service=$0" --name "$PROJECT-$0-$1" "$IMAGE" >/dev/null'
}
running() {
    docker ps -q --filter "label=$LABEL" --filter status=running | wc -l
}

have=0
for n in $SIZES; do
    t0="$(date +%s%N)"
    start_containers "$have" "$n"
    for _ in $(seq 1 120); do
        [[ $(running) -ge $n ]] && break
        sleep 1
    done
    [[ $(running) -eq $n ]] || { echo "only $(running) of $n containers running" >&2; exit 1; }
    echo "$n containers running ($(( ($(date +%s%N) - t0) / 1000000 )) ms to start $((n - have)))"
    have="$n"
    sleep 5 # let the engine settle after the starts
    (cd "$ROOT" && SCALE_BENCH_NODES="$n" SCALE_BENCH_PROJECT="$PROJECT" \
        timeout 600 cargo bench -p host --bench scale_docker)
done
