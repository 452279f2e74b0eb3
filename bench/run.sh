#!/usr/bin/env bash
# Runs one benchmark (or all): npm run bench -- dataset
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b
# The PyTorch peer of the models benchmark: Debian's python3-torch for the system python, where missing.
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch >/dev/null || echo "python3-torch unavailable: the peer column stays empty"
fi
# The Optuna peer of the search benchmark: Debian's python3-optuna (3.1) for the system python, where missing.
if ! /usr/bin/python3 -c 'import optuna' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-optuna >/dev/null || { echo "python3-optuna unavailable: the search benchmark needs it" >&2; }
fi
# Bench names, then options for them: npm run bench -- scaling --threads 1,2,4,8,16
names=(); opts=()
for a in "$@"; do
  if [ ${#opts[@]} -gt 0 ] || [[ "$a" == --* ]]; then opts+=("$a"); else names+=("$a"); fi
done
[ ${#names[@]} -gt 0 ] || names=(dataset models relaxed evaluator coordinator expansion faces search scheduling scaling)
for n in "${names[@]}"; do
  echo "== bench $n"
  # kernels: the wasm kernel micro-benchmark (bench/kernels.mjs; BENCH_FILTER narrows it to matching kernels).
  if [ -f "bench/$n.mjs" ]; then node "bench/$n.mjs" ${BENCH_FILTER:+"$BENCH_FILTER"}; else node "bench/dist/$n.js" ${opts[@]+"${opts[@]}"}; fi
done
