#!/usr/bin/env bash
# Starts Chrome Plus (role: all | gateway | worker): installs dependencies and builds the extension on first run,
# makes sure Redis answers, then runs the server.
set -euo pipefail
cd "$(dirname "$0")/.."
role="${1:-all}"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing dependencies (first run)..." >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ "$role" != "worker" ] && [ -f extension/package.json ] && [ ! -f extension/dist/manifest.json ]; then
  echo "Building the extension into extension/dist..." >&2
  npm run build --silent -w extension
fi
node --import tsx scripts/ensure-redis.ts
if [ "$role" != "worker" ] && [ -f extension/dist/manifest.json ]; then
  echo "Chrome Plus: load extension/dist as an unpacked extension (chrome://extensions, Developer mode) and open the side panel." >&2
fi
exec node --import tsx server/src/main.ts "$role"
