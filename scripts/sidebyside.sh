#!/usr/bin/env bash
# Two builds of tickwire side by side on the arena workload, for BENCHMARKS.md:
#
#   bash scripts/sidebyside.sh BASE NEW [ROOMS [RUNS [DURATION]]]
#   PIN=1 bash scripts/sidebyside.sh /tmp/tw-old /tmp/tw-new 50 3 20s   # server on core 0, bots on core 1
#
# BASE and NEW are tickwire binaries. For each run, interleaved (BASE, NEW,
# BASE, ...), it starts that binary's `serve --open-rooms` on loopback and
# plays ROOMS x 16 of the same binary's bots against it (--no-lobby, 5 s
# ramp-up, deflate on), then prints the server's CPU per client-update,
# bytes per client per second, delivery and the bots' own CPU per update
# from the bots' JSON report. Every run is bounded by DURATION; the JSON
# lands in ${OUT:-bench-out}/sidebyside-*.json.
#
# SHARED=1 plays both builds with one client instead, scripts/sharedload (the
# same reads and writes for both, and no decoding), speaking protocol
# BASE_PROTOCOL (default 1, the wire before game schemas) to BASE and
# NEW_PROTOCOL (default 2) to NEW; the server's CPU is then read from
# /proc/PID/stat and the updates are the messages the clients received:
#
#   SHARED=1 bash scripts/sidebyside.sh /tmp/tw-7044a48 /tmp/tw-main 200 3 20s
set -uo pipefail
base=$1 new=$2 rooms=${3:-50} runs=${4:-3} dur=${5:-20s}
out=${OUT:-bench-out}
addr=127.0.0.1:7398
mkdir -p "$out"
if [ "${SHARED:-}" = 1 ]; then
  shared=$(mktemp -d)/sharedload
  go build -o "$shared" ./scripts/sharedload || exit 1
fi
serve=() botsrun=()
if [ "${PIN:-}" = 1 ]; then serve=(taskset -c 0); botsrun=(taskset -c 1); fi
need=$((rooms * 16 * 2 + 100))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  ulimit -n "$need" 2>/dev/null || { echo "sidebyside.sh: R=$rooms needs ulimit -n $need" >&2; exit 1; }
fi
for i in $(seq 1 "$runs"); do
  for which in base new; do
    bin=${!which}
    data=$(mktemp -d)
    "${serve[@]}" "$bin" serve --addr "$addr" --open-rooms --log-level warn --data-dir "$data" --idle-timeout 60s >/dev/null 2>&1 &
    srv=$!
    for _ in $(seq 50); do curl -fs "http://$addr/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    json="$out/sidebyside-$which-r$rooms-$i.json"
    if [ "${SHARED:-}" = 1 ]; then
      proto=${NEW_PROTOCOL:-2}
      [ "$which" = base ] && proto=${BASE_PROTOCOL:-1}
      "${botsrun[@]}" "$shared" --url "http://$addr" --protocol "$proto" --server-pid "$srv" --rooms "$rooms" --players 16 --duration "$dur" --ramp-up 5s >"$json"
    else
      "${botsrun[@]}" "$bin" bots --url "ws://$addr" --no-lobby --rooms "$rooms" --players 16 --duration "$dur" --ramp-up 5s --json >"$json" 2>/dev/null
    fi
    kill -TERM "$srv"; wait "$srv" 2>/dev/null; rm -rf "$data"
    python3 - "$json" "$which" "$i" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]} {sys.argv[3]}: server {d.get('server_cpu_us_per_client_update', 0):.2f} us/update, "
      f"{d.get('bytes_per_client_per_s', 0):.0f} B/client/s, delivered {d.get('delivery_ratio', 0):.4f}, "
      f"bots {d.get('bots_cpu_us_per_client_update', d.get('client_cpu_us_per_update', 0)):.1f} us/update")
PY
  done
done
