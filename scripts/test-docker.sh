#!/usr/bin/env bash
# `npm run test:docker`: the Docker path end to end (scripts/test-docker.ts says what it checks). Not part of
# `npm test`: it needs a running Docker engine and base images. Where either is missing it prints
# "skipped: <reason>" and exits 0.
#
# Base images: NODE_IMAGE, REDIS_IMAGE, NGINX_IMAGE when set; else the official ones (node:20-bookworm-slim,
# redis:7-alpine, nginx:1.27-alpine) when this engine has them all; else the ones scripts/docker-base-images.sh
# makes from Debian's packages (chrome-plus-base/…), made now if missing and this machine can (root, debootstrap).
# Nothing is pulled: `docker pull` the official images first to test with them.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "skipped: $*"
  exit 0
}

command -v docker >/dev/null || skip "no docker command on this machine"
docker info >/dev/null 2>&1 || skip "no running Docker engine, or none this user may use (docker info fails)"
if docker compose version >/dev/null 2>&1; then
  compose='docker compose'
elif command -v docker-compose >/dev/null; then
  compose='docker-compose'
else
  skip "neither 'docker compose' nor docker-compose is installed"
fi

has_image() { docker image inspect "$1" >/dev/null 2>&1; }

if [ -n "${NODE_IMAGE:-}${REDIS_IMAGE:-}${NGINX_IMAGE:-}" ]; then
  : "${NODE_IMAGE:=node:20-bookworm-slim}" "${REDIS_IMAGE:=redis:7-alpine}" "${NGINX_IMAGE:=nginx:1.27-alpine}"
elif has_image node:20-bookworm-slim && has_image redis:7-alpine && has_image nginx:1.27-alpine; then
  NODE_IMAGE=node:20-bookworm-slim REDIS_IMAGE=redis:7-alpine NGINX_IMAGE=nginx:1.27-alpine
else
  mapfile -t base < <(bash scripts/docker-base-images.sh --names)
  NODE_IMAGE=${base[0]} REDIS_IMAGE=${base[1]} NGINX_IMAGE=${base[2]}
  if ! { has_image "$NODE_IMAGE" && has_image "$REDIS_IMAGE" && has_image "$NGINX_IMAGE"; }; then
    echo "[test:docker] making the base images (scripts/docker-base-images.sh)..."
    start=$SECONDS
    status=0
    reason=$(bash scripts/docker-base-images.sh) || status=$?
    [ "$status" = 3 ] && skip "no base images: ${reason#cannot make base images: }"
    [ "$status" = 0 ] || { echo "$reason"; echo "scripts/docker-base-images.sh failed ($status)" >&2; exit 1; }
    echo "[test:docker] base images made in $((SECONDS - start)) s"
  fi
fi
for image in "$NODE_IMAGE" "$REDIS_IMAGE" "$NGINX_IMAGE"; do
  has_image "$image" || skip "no base image $image on this engine (docker pull it, or unset the *_IMAGE variables)"
done

if [ ! -d node_modules/ws ] || [ ! -d node_modules/tsx ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
export CHROME_PLUS_COMPOSE=$compose NODE_IMAGE REDIS_IMAGE NGINX_IMAGE
exec node --import tsx scripts/test-docker.ts
