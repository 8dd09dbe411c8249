#!/usr/bin/env bash
# Bundles the SDK for browsers with esbuild (protobuf runtime included, ws
# left out), and checks the minified+gzipped size against the budget of
# issue 11: at most 40 KiB. Prints the figures; exits non-zero over budget
# or if Node's ws made it into the browser bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=$((40 * 1024))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node_modules/.bin/esbuild src/index.ts --bundle --minify --format=esm --platform=browser \
  --target=es2022 --outfile="$tmp/tickwire-client.js" --log-level=warning
raw=$(wc -c <"$tmp/tickwire-client.js")
gz=$(gzip -9 -c "$tmp/tickwire-client.js" | wc -c)
echo "browser bundle: ${raw} bytes minified, ${gz} bytes minified+gzipped (budget ${budget})"
if grep -q 'Sec-WebSocket-Key' "$tmp/tickwire-client.js"; then
  echo "the browser bundle contains the ws package: it must be loaded only in Node"; exit 1
fi
if [ "$gz" -gt "$budget" ]; then
  echo "the browser bundle is over its budget"; exit 1
fi
