#!/usr/bin/env bash
# Arena load runs and the loopback write floor, for BENCHMARKS.md.
#
#   bash scripts/bench-arena.sh                  # R = 50 100 200 through the lobby, deflate on and off, 3 runs each
#   bash scripts/bench-arena.sh --no-lobby       # the same, the bots joining open rooms directly
#   ROOMS="50" DEFLATE="true" RUNS=1 DURATION=10s bash scripts/bench-arena.sh
#   ROOMS="313" DEFLATE="true" bash scripts/bench-arena.sh   # 5,008 clients: opt in, it needs ulimit -n above 10,100
#
# Environment: ROOMS, DEFLATE, RUNS, DURATION, RAMPUP, OUT, and LOBBY=false
# for --no-lobby.
#
# For each configuration it starts a fresh `tickwire serve`, runs `tickwire
# bots` against it from a second process (joining through the lobby's room
# API, as game clients do, unless --no-lobby: then the server has open rooms
# and the bots join them directly), then runs `tickwire floor` with the same
# number of connections and the arena run's mean frame size. Every run's
# JSON lands in bench-out/; the table of medians, with the server's CPU per
# update as a ratio to the floor and the join figures, is printed at the
# end, with the floor's readers beside the bots: the CPU per update of the
# simplest client, a goroutine per connection reading and discarding, in a
# process of its own. Loopback only; every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

lobby=${LOBBY:-true}
for arg in "$@"; do
  case "$arg" in
    --no-lobby) lobby=false ;;
    --lobby) lobby=true ;;
    *) echo "bench-arena.sh: unknown argument $arg (want --no-lobby or --lobby)" >&2; exit 2 ;;
  esac
done
case "$lobby" in true|false) ;; *) echo "bench-arena.sh: LOBBY must be true or false" >&2; exit 2 ;; esac

rooms=${ROOMS:-"50 100 200"}
deflates=${DEFLATE:-"true false"}
runs=${RUNS:-3}
duration=${DURATION:-20s}
rampup=${RAMPUP:-5s}
out=${OUT:-bench-out}
addr=127.0.0.1:7399
path=lobby
botflags=()
if [ "$lobby" = false ]; then
  path=direct
  botflags=(--no-lobby)
fi

for r in $rooms; do
  need=$((r * 16 * 2 + 100)) # the bots' and the server's sockets, or the floor's pairs
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
    ulimit -n "$need" 2>/dev/null || { echo "bench-arena.sh: R=$r needs ulimit -n $need (it is $(ulimit -n))" >&2; exit 1; }
  fi
done

mkdir -p "$out" bin
go build -o bin/tickwire ./cmd/tickwire
data=$(mktemp -d)
server=""
trap 'if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; fi; rm -rf "$data"' EXIT

for deflate in $deflates; do
  for r in $rooms; do
    for i in $(seq 1 "$runs"); do
      name="arena-$path-r$r-deflate-$deflate-$i"
      # --max-rooms: the default of 256 rooms a node would refuse R=313's last 57.
      bin/tickwire serve --addr "$addr" --open-rooms --deflate="$deflate" --log-level warn \
        --data-dir "$data" --idle-timeout 60s --max-rooms $((r + 16)) >"$out/$name.server.log" 2>&1 &
      server=$!
      for _ in $(seq 50); do curl -fs "http://$addr/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
      bin/tickwire bots --url "ws://$addr" "${botflags[@]}" --rooms "$r" --players 16 --duration "$duration" \
        --ramp-up "$rampup" --deflate="$deflate" --json >"$out/$name.json" || true
      kill -TERM "$server"; wait "$server" || true
      server=""
      size=$(python3 -c "import json,sys; d=json.load(open('$out/$name.json')); print(max(16, round(d['bytes_per_client_per_s']/20)))")
      bin/tickwire floor --conns $((r * 16)) --size "$size" --duration "$duration" --json >"$out/floor-$path-r$r-deflate-$deflate-$i.json"
      echo "done: $name (frame ~$size B)"
    done
  done
done

python3 - "$out" "$path" <<'PY'
import glob, json, statistics, sys
out, path = sys.argv[1], sys.argv[2]
def med(xs): return statistics.median(xs) if xs else float('nan')
rows = {}
for f in glob.glob(f"{out}/arena-{path}-*.json"):
    d = json.load(open(f))
    key = (d.get('rooms'), d.get('deflate'))
    fl = json.load(open(f.replace('/arena-', '/floor-')))
    rows.setdefault(key, []).append((d, fl))
if not rows:
    sys.exit(f"no runs in {out} for the {path} path")
print(f"joins: {'through the lobby' if path == 'lobby' else 'open rooms, no lobby'}")
print("| R x P | deflate | clients | CPU µs/update | floor µs/write | ratio to floor | bytes/client/s | delivered | tick p50/p99 ms | latency p50/p99 ms | RSS/client KiB | joins/s | join p50/p99 ms | all joined s | bots µs/update | reader floor µs/update |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for (r, deflate) in sorted(rows, key=lambda k: (not k[1], k[0])):
    rs = rows[(r, deflate)]
    g = lambda k: med([d.get(k, float('nan')) for d, _ in rs])
    cpu = g('server_cpu_us_per_client_update')
    floor = med([fl['sender_cpu_us_per_write'] for _, fl in rs])
    rfloor = med([fl.get('reader_cpu_us_per_write', float('nan')) for _, fl in rs])
    print(f"| {r} x 16 | {'on' if deflate else 'off'} | {r*16} | {cpu:.1f} | {floor:.1f} | {cpu/floor:.2f} | "
          f"{g('bytes_per_client_per_s'):.0f} | {100*g('delivery_ratio'):.2f}% | {g('tick_p50_ms'):.2f} / {g('tick_p99_ms'):.2f} | "
          f"{g('latency_p50_ms'):.1f} / {g('latency_p99_ms'):.1f} | {g('server_rss_bytes_per_client')/1024:.1f} | "
          f"{g('joins_per_s'):.0f} | {g('join_p50_ms'):.0f} / {g('join_p99_ms'):.0f} | {g('join_phase_s'):.1f} | {g('bots_cpu_us_per_client_update'):.1f} | {rfloor:.1f} |")
print(f"\nmedians of {len(next(iter(rows.values())))} runs each")
PY
