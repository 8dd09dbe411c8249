#!/usr/bin/env bash
# Builds the page tickwire serve shows at / (page/) into ../web/dist/, which
# is committed and embedded in the binary. Deterministic: pinned esbuild and
# flags, no timestamps. With --check, builds into a temporary directory and
# fails if ../web/dist differs (CI's check that the bundle is current).
set -euo pipefail
cd "$(dirname "$0")/.."
out=../web/dist
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
node_modules/.bin/esbuild page/main.ts --bundle --minify --format=esm --platform=browser \
  --target=es2022 --legal-comments=none --charset=utf8 --outfile="$out/app.js" --log-level=warning
cp page/index.html page/app.css "$out/"
if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$out" ../web/dist; then
    echo "clients/web/dist is stale: run 'npm run build:page' in clients/typescript and commit the result"
    exit 1
  fi
fi
