#!/usr/bin/env bash
# Runs the demo end to end: installs what it needs, builds the host and the
# flows, brings up the cluster, and opens the presenter.
#
#   scripts/demo.sh          # TiKV (docker-compose.yaml; needs the pingcap images)
#   scripts/demo.sh etcd     # the offline etcd cluster (image built locally)
#
# A fresh clone mostly waits for the host's build (the `demo` profile in
# Cargo.toml), so it starts first, in the background, while setup and the
# cluster's start (a first run pulls images) go on beside it.
#
# Quitting the presenter (Q) restores every fault. The cluster keeps running
# afterwards; stop it with the `down` command printed at the end. If anything
# fails before the presenter opens, a cluster this script brought up is taken
# down again (containers, network and volumes); one that was already running
# is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
which_demo="${1:-tikv}"

compose() {
  if command -v docker-compose >/dev/null; then docker-compose "$@"; else docker compose "$@"; fi
}

case "$which_demo" in
  tikv) compose_file=docker-compose.yaml project=tikv ;;
  etcd) compose_file=clusters/etcd/docker-compose.yaml project=demo-etcd
        export ETCD_IMAGE=demo-etcd:3.4.23 ;;
  *)
    echo "error: unknown demo '$which_demo': use tikv or etcd" >&2
    exit 2
    ;;
esac

bin=target/demo
flows=target/wasm32-wasip2/release
build_log=target/demo-build.log
build_pid=""
cluster_is_ours=0

on_exit() {
  if [ -n "$build_pid" ] && kill -0 "$build_pid" 2>/dev/null; then
    # Its own session (setsid below): this stops cargo and every rustc it runs.
    kill -TERM -- "-$build_pid" 2>/dev/null || true
  fi
  if [ "$cluster_is_ours" = 1 ]; then
    echo "taking down the $project cluster this run brought up" >&2
    compose -f "$compose_file" -p "$project" down -v >&2 || true
  fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p target
echo "building the presenter in the background (log: $build_log)"
setsid cargo build --profile demo -p host -p loadgen >"$build_log" 2>&1 &
build_pid=$!

scripts/setup.sh

# Brought up while the host compiles. Only a project with no containers yet is
# ours to take down on failure (a failed pull leaves its network and volumes).
if [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$project")" ]; then
  cluster_is_ours=1
fi
if ! compose -f "$compose_file" -p "$project" up -d; then
  case "$which_demo" in
    tikv) echo "error: could not start the TiKV cluster (are the pingcap images pullable here?); try: scripts/demo.sh etcd" >&2 ;;
    *) echo "error: could not start the $project cluster" >&2 ;;
  esac
  exit 1
fi

# The build's output so far, then as it goes, until it ends.
tail -n +1 -f --pid="$build_pid" "$build_log"
if ! wait "$build_pid"; then
  build_pid=""
  echo "error: building the presenter failed (log: $build_log)" >&2
  exit 1
fi
build_pid=""
scripts/build-flows.sh >/dev/null

if [ "$which_demo" = etcd ]; then
  "$bin/loadgen" etcd --check --wait 60s
fi
# From here on the cluster is the presenter's: it keeps running after Q.
cluster_is_ours=0
case "$which_demo" in
  tikv)
    "$bin/host" --flow "$flows/tikv.wasm" --project tikv
    echo "cluster still running; stop it with: docker-compose -f docker-compose.yaml -p tikv down -v"
    ;;
  etcd)
    "$bin/host" --flow "$flows/etcd.wasm" --project demo-etcd \
      --workload "cmd:$PWD/$bin/loadgen etcd --duration 1h"
    echo "cluster still running; stop it with: ETCD_IMAGE=$ETCD_IMAGE docker-compose -f clusters/etcd/docker-compose.yaml -p demo-etcd down -v"
    ;;
esac
