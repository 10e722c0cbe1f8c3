#!/usr/bin/env bash
# Every figure in BENCHMARKS.md, in one run: in-process (criterion) benches,
# Docker kill latency, parse throughput beside the seed's Python, and the
# presenter's whole-process figures, and the scale figures. Needs Docker;
# brings up and tears down its own etcd projects (chaosbench*, ports
# 24971-24979) and the scale-bench project's 300 idle containers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --target wasm32-wasip2 -p tikv-flow -p etcd-flow -p calls-flow
cargo build --release -p host -p loadgen
cargo bench -p host --bench runtime -- --noplot
cargo bench -p host --bench render -- --noplot
cargo bench -p host --bench chart_report -- --noplot
cargo bench -p host --bench scale -- --noplot
cargo bench -p host --bench kill
scripts/bench-parse.sh
scripts/bench-presenter.sh target/release/host
scripts/bench-scale.sh
