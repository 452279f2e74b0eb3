#!/usr/bin/env bash
# Runs one benchmark (or all): npm run bench -- dataset
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(dataset)
for n in "${names[@]}"; do
  echo "== bench $n"
  node bench/dist/$n.js
done
