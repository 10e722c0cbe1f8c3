#!/usr/bin/env bash
# Whole-process presenter figures, on the real terminal path (tmux) and the
# etcd test cluster:
#   - start to first frame, flow cached (launch → "first frame drawn" in the log)
#   - idle CPU over 60 s with nothing changing, and RSS with the flow loaded
#   - fault to screen: Docker's own `die` event time → the frame that drew the
#     node exited (containers killed with `docker kill` while the presenter idles)
# Usage: scripts/bench-presenter.sh [path/to/host]   (default: target/release/host)
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${1:-target/release/host}
FLOW=target/wasm32-wasip2/release/etcd.wasm
PROJECT=chaosbench-ui
SOCK=chaosbench-ui
WORK=$(mktemp -d /tmp/chaos-bench-ui.XXXXXX)
export CHAOS_DEMO_STATE_DIR=$WORK/state CHAOS_DEMO_CACHE_DIR=$WORK/cache
export ETCD_IMAGE=demo-etcd:3.4.23 ETCD1_PORT=24977 ETCD2_PORT=24978 ETCD3_PORT=24979
COMPOSE=(docker-compose -f clusters/etcd/docker-compose.yaml -p "$PROJECT")
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  pkill -f "$WORK" 2>/dev/null || true
  sleep 1
  "${COMPOSE[@]}" down -v --remove-orphans -t 2 >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -x "$HOST" ] && [ -f "$FLOW" ] || { echo "error: build first: cargo build --release -p host && scripts/build-flows.sh" >&2; exit 2; }
"${COMPOSE[@]}" up -d >/dev/null 2>&1

now_ns() { date +%s%N; }
wait_log() { # pattern file timeout_s
  local deadline=$(( $(date +%s) + $3 ))
  until grep -q "$1" "$2" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "error: timed out waiting for '$1' in $2" >&2; exit 1; }
    sleep 0.02
  done
}
launch() { # log file; runs the presenter on chapter 1 with no workload
  tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 \
    "$HOST --flow $FLOW --project $PROJECT --yes --log $1 --workload 'cmd:sleep 3600'"
}
quit() { tmux -L "$SOCK" send-keys q; local i=0; while pgrep -f "$WORK" >/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; tmux -L "$SOCK" kill-server 2>/dev/null || true; }

# 1. Start to first frame. The first launch compiles and caches the flow.
launch "$WORK/warm.log"; wait_log "first frame drawn" "$WORK/warm.log" 60; quit
startups=(); from_main=()
for i in $(seq 1 10); do
  log=$WORK/start$i.log
  t0=$(now_ns); launch "$log"; wait_log "first frame drawn" "$log" 30
  t1=$(grep -o 'first frame drawn at unix_ns=[0-9]*' "$log" | head -1 | cut -d= -f2)
  tm=$(grep -o 'main began at unix_ns=[0-9]*' "$log" | head -1 | cut -d= -f2)
  startups+=($(( (t1 - t0) / 1000 )))
  from_main+=($(( (t1 - tm) / 1000 )))
  quit
done
sorted=$(printf '%s\n' "${startups[@]}" | sort -n)
echo "start → first frame (cached flow, 10 launches via tmux, µs): median $(echo "$sorted" | sed -n 5p), min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"
sorted=$(printf '%s\n' "${from_main[@]}" | sort -n)
echo "  of which main() → first frame (µs): median $(echo "$sorted" | sed -n 5p), min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"
# What tmux and the shell cost before any host code runs: the same launch of a
# command that only prints the time.
overhead=()
for i in $(seq 1 10); do
  t0=$(now_ns)
  tmux -L "$SOCK-launch$i" -f /dev/null new-session -d -x 200 -y 50 "date +%s%N > $WORK/exec$i.tmp; mv $WORK/exec$i.tmp $WORK/exec$i; sleep 5"
  wait_log . "$WORK/exec$i" 10
  overhead+=($(( ($(cat "$WORK/exec$i") - t0) / 1000 )))
  tmux -L "$SOCK-launch$i" kill-server 2>/dev/null || true
done
sorted=$(printf '%s\n' "${overhead[@]}" | sort -n)
echo "  tmux + shell launch alone, to a date command (µs): median $(echo "$sorted" | sed -n 5p), min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"

# 2. Idle: a minute on chapter 1 with nothing changing.
log=$WORK/idle.log
launch "$log"; wait_log "first frame drawn" "$log" 30; sleep 2
pid=$(pgrep -f "$WORK/idle.log" | while read -r p; do [ "$(cat /proc/$p/comm)" = host ] && echo $p; done | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
idle=${IDLE_SECONDS:-60}
c0=$(ticks); sleep "$idle"; c1=$(ticks)
rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status); hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
echo "idle CPU over $idle s: $(awk -v d=$((c1 - c0)) -v hz=$hz -v idle=$idle 'BEGIN{printf "%.2f", 100*d/hz/idle}') % of one core ($((c1 - c0)) ticks at $hz Hz)"
echo "RSS with the flow loaded: ${rss} KiB now, ${hwm} KiB peak"

# 3. Fault to screen, while that presenter runs.
victim=$("${COMPOSE[@]}" ps -q etcd2)
lat=()
for i in $(seq 1 5); do
  before=$(grep -c 'frame drawn: etcd2 exited' "$log" || true)
  since=$(date +%s.%N)
  docker kill "$victim" >/dev/null
  for _ in $(seq 1 200); do
    [ "$(grep -c 'frame drawn: etcd2 exited' "$log" || true)" -gt "$before" ] && break
    sleep 0.05
  done
  died=$(docker events --since "$since" --until "$(date +%s.%N)" --filter "container=$victim" --filter event=die --format '{{.TimeNano}}' | head -1)
  drawn=$(grep -o 'frame drawn: etcd2 exited at unix_ns=[0-9]*' "$log" | tail -1 | cut -d= -f2)
  lat+=($(( (drawn - died) / 1000 )))
  docker start "$victim" >/dev/null; sleep 2
done
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
echo "fault to screen (Docker die event → frame drawn, 5 kills, µs): median $(echo "$sorted" | sed -n 3p), min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"
quit
