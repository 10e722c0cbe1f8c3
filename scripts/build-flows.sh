#!/usr/bin/env bash
# Builds the shipped flows as wasm components (chapters-wasm/*) and prints
# where they are. Release mode: a flow is small and shipped as a single file.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --target wasm32-wasip2 -p tikv-flow -p etcd-flow
ls -l target/wasm32-wasip2/release/tikv.wasm target/wasm32-wasip2/release/etcd.wasm

# The Python flows (guest-sdk-py, componentize-py from scripts/setup.sh):
# the etcd port, and the Python hostile pack of the sandbox tests. Each
# component embeds the interpreter (~18 MB); both build side by side.
pids=()
guest-sdk-py/build.sh chapters-wasm/etcd-py target/python/etcd-py.wasm & pids+=($!)
guest-sdk-py/build.sh tests/guests/hostile-py target/python/hostile-py.wasm & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
ls -l target/python/etcd-py.wasm target/python/hostile-py.wasm
