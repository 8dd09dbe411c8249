#!/usr/bin/env bash
# The whole test suite, as README.md gives it. Installs what the tests need on a
# fresh Debian machine (protoc for the generated-code check, redis-server for the
# Redis store, chromium for the real-browser tests, Node and npm for the
# TypeScript SDK), then runs formatting, the generated-code checks, the
# TypeScript SDK's checks and tests, vet, staticcheck and the race-enabled tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

need=()
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== go mod download"
go mod download

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== generated code is current"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc --plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" --go_out="$tmp" \
  --go_opt=module=github.com/tickwire/tickwire/proto -I proto tickwire/v1/tickwire.proto
if ! diff -r "$tmp/tickwirev1" proto/tickwirev1; then
  echo "proto/tickwirev1 is stale: run 'go generate ./proto/' and commit the result"; exit 1
fi

# The TypeScript SDK (clients/typescript): its generated protobuf code is
# current, it type-checks and builds, its browser bundle is within budget,
# and its tests pass against a real tickwire serve built from this tree.
echo "== clients/typescript"
go build -o "$tmp/tickwire" ./cmd/tickwire
(
  cd clients/typescript
  npm ci --no-audit --no-fund
  npm run --silent check-generated
  npm run --silent check-page       # clients/web/dist, the page at /, is current
  npm run --silent typecheck
  npm run --silent build
  npm run --silent size
  TICKWIRE_BIN="$tmp/tickwire" npm test
)

echo "== go vet"
go vet ./...

echo "== staticcheck"
go tool staticcheck ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

# Every decoder of outside input has a fuzz target; their seed corpora (f.Add
# and testdata/fuzz/) already ran above as ordinary tests. Here each target
# also explores for a short, bounded time (go takes one -fuzz target per run);
# a crash fails CI, and Go writes the input to testdata/fuzz/<target>/, to be
# committed with the fix as a regression test. At 3s each the step adds about
# 70s on a 2-core machine with a warm build cache (a minute more cold); set
# FUZZTIME=1m to fuzz for longer by hand.
FUZZTIME="${FUZZTIME:-3s}"
echo "== fuzz (${FUZZTIME} per target)"
fuzz_targets=(
  "./netcode FuzzDecodeInput FuzzDispatch FuzzGuard"
  "./bots FuzzMirrorSnapshot FuzzMirrorDelta FuzzInflateConn FuzzInflateRoundTrip"
  "./lobby FuzzVerifyTicket FuzzTicketMutation FuzzParseModes FuzzAPIPost"
  "./cmd/tickwire FuzzConfig"
  "./internal/names FuzzCheck"
)
listed=" ${fuzz_targets[*]} "
for f in $(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' . | sed 's/^func //'); do
  case "$listed" in
    *" $f "*) ;;
    *) echo "fuzz target $f is not in scripts/test.sh's list: add it"; exit 1 ;;
  esac
done
for line in "${fuzz_targets[@]}"; do
  read -r pkg targets <<<"$line"
  for target in $targets; do
    echo "-- $pkg $target"
    if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime=10s "$pkg" >"$tmp/fuzz.log" 2>&1; then
      # Go's fuzzer may exit non-zero with a bare "context deadline exceeded"
      # when -fuzztime ends while a worker is mid-input (golang/go#51484);
      # that is no finding. A real one always writes its input.
      if grep -q 'context deadline exceeded' "$tmp/fuzz.log" && ! grep -q 'Failing input written to' "$tmp/fuzz.log"; then
        echo "   (the fuzzer's end-of-fuzztime deadline flake, no failing input: not a finding)"
        continue
      fi
      cat "$tmp/fuzz.log"; echo "fuzz target $target in $pkg failed: fix it and commit the input above as a regression test"; exit 1
    fi
  done
done
