#!/usr/bin/env bash
# Arena load runs and the loopback write floor, for BENCHMARKS.md.
#
#   bash scripts/bench-arena.sh            # R = 50 100 200, deflate on and off, 3 runs each
#   ROOMS="50" DEFLATE="true" RUNS=1 DURATION=10s bash scripts/bench-arena.sh
#
# For each configuration it starts a fresh `tickwire serve` (open rooms, so the
# bots join without the lobby), runs `tickwire bots` against it from a second
# process, then runs `tickwire floor` with the same number of connections and
# the arena run's mean frame size. Every run's JSON lands in bench-out/; the
# table of medians is printed at the end. Loopback only; every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

rooms=${ROOMS:-"50 100 200"}
deflates=${DEFLATE:-"true false"}
runs=${RUNS:-3}
duration=${DURATION:-20s}
rampup=${RAMPUP:-5s}
out=${OUT:-bench-out}
addr=127.0.0.1:7399

mkdir -p "$out" bin
go build -o bin/tickwire ./cmd/tickwire
data=$(mktemp -d)
trap 'rm -rf "$data"; pkill -f "bin/tickwire serve --addr $addr" 2>/dev/null || true' EXIT

for deflate in $deflates; do
  for r in $rooms; do
    for i in $(seq 1 "$runs"); do
      name="arena-r$r-deflate-$deflate-$i"
      bin/tickwire serve --addr "$addr" --open-rooms --deflate="$deflate" --log-level warn \
        --data-dir "$data" --idle-timeout 60s >"$out/$name.server.log" 2>&1 &
      server=$!
      for _ in $(seq 50); do curl -fs "http://$addr/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
      bin/tickwire bots --url "ws://$addr" --no-lobby --rooms "$r" --players 16 --duration "$duration" \
        --ramp-up "$rampup" --deflate="$deflate" --json >"$out/$name.json" || true
      kill -TERM "$server"; wait "$server" || true
      size=$(python3 -c "import json,sys; d=json.load(open('$out/$name.json')); print(max(16, round(d['bytes_per_client_per_s']/20)))")
      bin/tickwire floor --conns $((r * 16)) --size "$size" --duration "$duration" --json >"$out/floor-r$r-deflate-$deflate-$i.json"
      echo "done: $name (frame ~$size B)"
    done
  done
done

python3 - "$out" <<'PY'
import glob, json, statistics, sys
out = sys.argv[1]
def med(xs): return statistics.median(xs) if xs else float('nan')
rows = {}
for f in glob.glob(f"{out}/arena-*.json"):
    d = json.load(open(f))
    key = (d.get('rooms'), d.get('deflate'))
    fl = json.load(open(f.replace('/arena-', '/floor-').replace('.json', '.json')))
    rows.setdefault(key, []).append((d, fl))
print("| R x P | deflate | clients | CPU µs/update | floor µs/write | ratio | bytes/client/s | delivered | tick p50/p99 ms | latency p50/p99 ms | RSS/client KiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (r, deflate) in sorted(rows, key=lambda k: (not k[1], k[0])):
    rs = rows[(r, deflate)]
    g = lambda k: med([d[k] for d, _ in rs])
    cpu = g('server_cpu_us_per_client_update')
    floor = med([fl['sender_cpu_us_per_write'] for _, fl in rs])
    print(f"| {r} x 16 | {'on' if deflate else 'off'} | {r*16} | {cpu:.1f} | {floor:.1f} | {cpu/floor:.2f} | "
          f"{g('bytes_per_client_per_s'):.0f} | {100*g('delivery_ratio'):.2f}% | {g('tick_p50_ms'):.2f} / {g('tick_p99_ms'):.2f} | "
          f"{g('latency_p50_ms'):.1f} / {g('latency_p99_ms'):.1f} | {g('server_rss_bytes_per_client')/1024:.1f} |")
print(f"\nmedians of {len(next(iter(rows.values())))} runs each")
PY
