#!/usr/bin/env bash
# Generates src/gen/ from proto/tickwire/v1/tickwire.proto with protoc-gen-es
# (the devDependency in package.json; run `npm ci` first) and Debian's protoc.
# With --check, generates into a temporary directory and fails if src/gen/
# differs: CI's check that the committed code is current.
set -euo pipefail
cd "$(dirname "$0")/.."
root=../..
out=src/gen
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
protoc --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es \
  --es_out="$out" --es_opt=target=ts,import_extension=js \
  -I "$root/proto" tickwire/v1/tickwire.proto
if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$out" src/gen; then
    echo "clients/typescript/src/gen is stale: run 'npm run generate' in clients/typescript and commit the result"
    exit 1
  fi
fi
