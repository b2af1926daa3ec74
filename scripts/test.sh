#!/usr/bin/env bash
# Runs every check and test of Chrome Plus: installs what they need first (dependencies, Redis, Chromium,
# docker-compose for validating the compose file; waits for PostgreSQL), then lint, type-check, build, unit/integration and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}
missing=()
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} with apt-get..." >&2
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    echo "Could not install ${missing[*]} (needs root or passwordless sudo); the tests that need them will fail." >&2
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node --import tsx scripts/ensure-redis.ts
echo "== PostgreSQL (the accounts tests' database server)" >&2
node --import tsx scripts/ensure-postgres.ts

# Lint and type-check side by side: neither writes what the other reads.
echo "== lint and type-check" >&2
npx biome check . &
lint=$!
npx tsc -b
wait "$lint"
echo "== build" >&2
npm run build --silent
echo "== unit, integration and browser (Chromium) tests" >&2
node scripts/run-tests.mjs
