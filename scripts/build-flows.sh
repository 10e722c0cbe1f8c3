#!/usr/bin/env bash
# Builds the shipped flows as wasm components (chapters-wasm/*) and prints
# where they are. Release mode: a flow is small and shipped as a single file.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --target wasm32-wasip2 -p tikv-flow -p etcd-flow
ls -l target/wasm32-wasip2/release/tikv.wasm target/wasm32-wasip2/release/etcd.wasm
