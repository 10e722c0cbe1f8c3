#!/usr/bin/env bash
# Measure the network-fault delayer (netfault delay, fed by NFQUEUE) for
# BENCHMARKS.md: how close the injected delay is to what was asked, and what
# CPU the delayer uses at ~1,000 packets/s and idle.
#
# Usage: scripts/bench-netfault.sh
#
# Everything runs on a private internal Docker network made here and removed
# at the end: a target container echoing UDP (netfault udp-echo), the delayer
# in the target's network namespace with an NFQUEUE rule on the target's
# OUTPUT (so only the echo replies are delayed), and netfault rtt in a client
# container. CPU is the delayer process's on-CPU time from the host's
# /proc/<pid>/schedstat (nanoseconds), over the wall time of the measurement.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${NETFAULT_IMAGE_TAG:-demo-netfault:0.1.0}"
"$HERE/build-netfault-image.sh" >/dev/null

NET="nfb-$$"
LABEL="nfb.lab=$NET"
cleanup() {
    local ids
    ids="$(docker ps -aq --filter "label=$LABEL")"
    [[ -n $ids ]] && docker rm -f $ids >/dev/null 2>&1
    docker network rm "$NET" >/dev/null 2>&1 || true
}
trap cleanup EXIT
docker network create --internal --label "$LABEL" "$NET" >/dev/null

run_in() { # run_in TARGET ARGS... : a helper in TARGET's netns, NET_ADMIN only
    local target="$1"; shift
    timeout 60 docker run --rm --label "$LABEL" --network "container:$target" \
        --cap-drop ALL --cap-add NET_ADMIN "$IMAGE" "$@"
}
client() {
    timeout 120 docker run --rm --label "$LABEL" --network "$NET" --cap-drop ALL "$IMAGE" "$@"
}
field() { # field JSON KEY
    sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" <<<"$1"
}
wait_log() { # wait_log CONTAINER NEEDLE
    for _ in $(seq 1 100); do
        docker logs "$1" 2>/dev/null | grep -q "$2" && return 0
        sleep 0.1
    done
    echo "$1 never printed $2" >&2
    return 1
}
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

target="$NET-target"
docker run -d --name "$target" --label "$LABEL" --network "$NET" --cap-drop ALL \
    "$IMAGE" udp-echo --port 7000 >/dev/null
wait_log "$target" listening
to="$(docker inspect --format "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$target"):7000"
rule='["iptables","-w","OP","OUTPUT","!","-o","lo","-j","NFQUEUE","--queue-num","7430","--queue-bypass"]'

start_delayer() { # start_delayer DELAY_MS [JITTER_MS]
    docker run -d --name "$NET-delayer" --label "$LABEL" --network "container:$target" \
        --cap-drop ALL --cap-add NET_ADMIN "$IMAGE" \
        delay --queue 7430 --delay-ms "$1" --jitter-ms "${2:-0}" >/dev/null
    wait_log "$NET-delayer" delaying
    run_in "$target" run --plan "{\"steps\":[${rule/OP/-A}]}" >/dev/null
}
stop_delayer() {
    run_in "$target" undo --plan "{\"steps\":[${rule/OP/-D}]}" >/dev/null
    docker stop -t 5 "$NET-delayer" >/dev/null
    docker rm "$NET-delayer" >/dev/null
}

base="$(client rtt --to "$to" --count 100 --interval-ms 20 --timeout-ms 1000)"
echo "baseline (no delay): median $(field "$base" median_ms) ms, p90 $(field "$base" p90_ms) ms"
echo
echo "| asked | jitter | median RTT | p10 | p90 | received |"
echo "| --- | --- | --- | --- | --- | --- |"
for spec in "50 0" "200 0" "500 0" "200 20"; do
    read -r delay jitter <<<"$spec"
    start_delayer "$delay" "$jitter"
    r="$(client rtt --to "$to" --count 100 --interval-ms 20 --timeout-ms 3000)"
    echo "| $delay ms | ±$jitter ms | $(field "$r" median_ms) ms | $(field "$r" p10_ms) ms | $(field "$r" p90_ms) ms | $(field "$r" received)/100 |"
    stop_delayer
done

echo
start_delayer 200
pid="$(docker inspect --format '{{.State.Pid}}' "$NET-delayer")"
c0="$(cpu_ns "$pid")"; t0="$(date +%s%N)"
sleep 5
c1="$(cpu_ns "$pid")"; t1="$(date +%s%N)"
awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) \
    'BEGIN { printf "delayer idle (5 s, rule in place, no traffic): %.3f %% of one core\n", 100 * c / t }'
c0="$(cpu_ns "$pid")"; t0="$(date +%s%N)"
r="$(client rtt --to "$to" --count 5000 --interval-ms 1 --timeout-ms 3000)"
c1="$(cpu_ns "$pid")"; t1="$(date +%s%N)"
# The rtt run's wall time includes the client container's start (~0.3 s)
# and the last replies' 200 ms: the rate while packets flow is a bit higher.
awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) -v recv="$(field "$r" received)" -v med="$(field "$r" median_ms)" \
    'BEGIN { printf "delayer at ~1,000 packets/s (5,000 replies held 200 ms; %d received, median %s ms): %.1f %% of one core over %.1f s (%.1f us of CPU per packet)\n", recv, med, 100 * c / t, t / 1e9, c / 1e3 / 5000 }'
stop_delayer

# TCP from the target through the delay, by where the NFQUEUE rule sits. On
# OUTPUT a held packet is still charged to its socket (TCP Small Queues, the
# send buffer), so a local TCP sender stalls; on INPUT nothing local owns it.
# tcp-rate's 64 KiB send buffer caps a 200 ms path at ~2.6 Mbit/s anyway.
sink="$NET-sink"
docker run -d --name "$sink" --label "$LABEL" --network "$NET" --cap-drop ALL \
    "$IMAGE" tcp-sink --port 7001 >/dev/null
wait_log "$sink" listening
sink_to="$(docker inspect --format "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$sink"):7001"
tcp_rate() {
    timeout 60 docker run --rm --label "$LABEL" --network "container:$target" --cap-drop ALL \
        "$IMAGE" tcp-rate --to "$sink_to" --seconds 5
}
r="$(tcp_rate)"
echo
echo "TCP goodput from the target, no delay: $(field "$r" kbit_per_sec) kbit/s"
docker run -d --name "$NET-delayer" --label "$LABEL" --network "container:$target" \
    --cap-drop ALL --cap-add NET_ADMIN "$IMAGE" delay --queue 7430 --delay-ms 200 >/dev/null
wait_log "$NET-delayer" delaying
for hook in "OUTPUT -o" "INPUT -i"; do
    read -r chain flag <<<"$hook"
    hook_rule="[\"iptables\",\"-w\",\"OP\",\"$chain\",\"!\",\"$flag\",\"lo\",\"-j\",\"NFQUEUE\",\"--queue-num\",\"7430\",\"--queue-bypass\"]"
    run_in "$target" run --plan "{\"steps\":[${hook_rule/OP/-A}]}" >/dev/null
    r="$(tcp_rate)"
    echo "TCP goodput from the target, 200 ms delay on $chain: $(field "$r" kbit_per_sec) kbit/s ($(field "$r" bytes) bytes in $(field "$r" seconds) s)"
    run_in "$target" undo --plan "{\"steps\":[${hook_rule/OP/-D}]}" >/dev/null
done
docker stop -t 5 "$NET-delayer" >/dev/null
docker rm "$NET-delayer" >/dev/null

# How long one short-lived helper takes, as the host runs them.
t0="$(date +%s%N)"
for _ in 1 2 3 4 5; do run_in "$target" show >/dev/null; done
t1="$(date +%s%N)"
awk -v t=$((t1 - t0)) 'BEGIN { printf "one helper container (docker run --rm ... show), mean of 5: %.0f ms\n", t / 5e6 }'
