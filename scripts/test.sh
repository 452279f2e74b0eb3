#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need where it is missing (nats-server,
# prometheus + promtool, chromium, python3-onnx, python3-h5py from Debian; moto_server or s3rver for S3), builds,
# lints and runs every test. Test servers (nats-server with JetStream, an S3 server) are started
# by the tests themselves on free loopback ports with temporary data dirs and stopped after
# (test/testkit), so nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[test]\033[0m %s\n' "$*"; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# 1. System packages, only where missing (Debian 12).
apt_pkgs=()
command -v nats-server >/dev/null || apt_pkgs+=(nats-server)
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || apt_pkgs+=(prometheus)
command -v chromium >/dev/null || apt_pkgs+=(chromium)
# Debian's python3 checks the model exports (onnx.checker; h5py) and writes the Keras weight fixtures
# (h5py: test/testkit/src/keras_mobilenetv2_fixture.py).
/usr/bin/python3 -c 'import onnx' 2>/dev/null || apt_pkgs+=(python3-onnx)
/usr/bin/python3 -c 'import h5py' 2>/dev/null || apt_pkgs+=(python3-h5py)
# astronaut.png, the real photograph `fersweep predict` finds a face in (test/support/photos.ts).
[ -f /usr/lib/python3/dist-packages/skimage/data/astronaut.png ] || apt_pkgs+=(python3-skimage)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  log "installing ${apt_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi
# S3: moto_server when this machine has it, else s3rver from the lockfile (installed by npm ci).
command -v moto_server >/dev/null || export FERSWEEP_TEST_S3=s3rver
log "nats-server $(nats-server --version | awk '{print $2}'); S3 server: ${FERSWEEP_TEST_S3:-moto_server}"

# 2. Node dependencies from the lockfile (npm ci runs `prepare`, which builds).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
fi

# 3. Type-check and build every workspace, then lint.
log "tsc -b (build) + tsconfig.test.json (type-check tests)"
npx tsc -b
npx tsc -p tsconfig.test.json
log "eslint + prettier"
npx eslint --max-warnings 0 .
npx prettier --check --log-level warn .

# 4. Every test (unit tests beside the code, integration and e2e in test/).
log "jest"
exec node --experimental-vm-modules --no-warnings node_modules/jest/bin/jest.js --ci "$@"
