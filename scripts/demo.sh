#!/usr/bin/env bash
# Runs the demo end to end: installs what it needs, builds the host and the
# flows, brings up the cluster, and opens the presenter.
#
#   scripts/demo.sh          # TiKV (docker-compose.yaml; needs the pingcap images)
#   scripts/demo.sh etcd     # the offline etcd cluster (image built locally)
#
# Quitting the presenter (Q) restores every fault. The cluster keeps running
# afterwards; stop it with the `down` command printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
which_demo="${1:-tikv}"

compose() {
  if command -v docker-compose >/dev/null; then docker-compose "$@"; else docker compose "$@"; fi
}

scripts/setup.sh
cargo build --release -p host -p loadgen
scripts/build-flows.sh >/dev/null
host=target/release/host
flows=target/wasm32-wasip2/release

case "$which_demo" in
  tikv)
    if ! compose -f docker-compose.yaml -p tikv up -d; then
      echo "error: could not start the TiKV cluster (are the pingcap images pullable here?); try: scripts/demo.sh etcd" >&2
      exit 1
    fi
    "$host" --flow "$flows/tikv.wasm" --project tikv
    echo "cluster still running; stop it with: docker-compose -f docker-compose.yaml -p tikv down -v"
    ;;
  etcd)
    export ETCD_IMAGE=demo-etcd:3.4.23
    compose -f clusters/etcd/docker-compose.yaml -p demo-etcd up -d
    target/release/loadgen etcd --check --wait 60s
    "$host" --flow "$flows/etcd.wasm" --project demo-etcd \
      --workload "cmd:$PWD/target/release/loadgen etcd --duration 1h"
    echo "cluster still running; stop it with: ETCD_IMAGE=$ETCD_IMAGE docker-compose -f clusters/etcd/docker-compose.yaml -p demo-etcd down -v"
    ;;
  *)
    echo "error: unknown demo '$which_demo': use tikv or etcd" >&2
    exit 2
    ;;
esac
