#!/usr/bin/env bash
# Makes the three base images the Docker path needs, locally, for machines that cannot pull from Docker Hub:
#
#   chrome-plus-base/node:<major>   Debian bookworm + this machine's Node.js and npm + a `node` user (uid 1000),
#                                   in the place of node:20-bookworm-slim (the Dockerfile's NODE_IMAGE)
#   chrome-plus-base/redis:7        Debian's redis-server, run as the official image runs it (protected mode off,
#                                   /data as its working directory), in the place of redis:7-alpine (REDIS_IMAGE)
#   chrome-plus-base/nginx:1        Debian's nginx with an empty conf.d/ for deploy/nginx.conf, logging to
#                                   stdout/stderr, in the place of nginx:1.27-alpine (NGINX_IMAGE)
#
# From one `debootstrap --variant=minbase bookworm` (Debian's mirror is enough), each image a copy of it plus its
# packages, brought in with `docker import`. Images already present are kept (--force makes them again).
#
#   bash scripts/docker-base-images.sh            # make the missing ones
#   bash scripts/docker-base-images.sh --force    # make all three again
#   bash scripts/docker-base-images.sh --names    # print the three tags and exit
#
# Needs root (debootstrap, chroot), a running Docker engine, and debootstrap (installed with apt-get when
# missing). When it cannot make them it says why on stdout as "cannot make base images: <reason>" and exits 3.
# The Debian mirror: DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 20)
NODE_BASE=${NODE_BASE:-chrome-plus-base/node:${node_major}}
REDIS_BASE=${REDIS_BASE:-chrome-plus-base/redis:7}
NGINX_BASE=${NGINX_BASE:-chrome-plus-base/nginx:1}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

force=0
case "${1:-}" in
  --names) printf '%s\n%s\n%s\n' "$NODE_BASE" "$REDIS_BASE" "$NGINX_BASE"; exit 0 ;;
  --force) force=1 ;;
  '') ;;
  *) echo "usage: $0 [--force|--names]" >&2; exit 64 ;;
esac

cannot() { echo "cannot make base images: $*"; exit 3; }
log() { printf '[base-images %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

command -v docker >/dev/null || cannot "no docker command"
docker info >/dev/null 2>&1 || cannot "no running Docker engine, or none this user may use (docker info fails)"

missing=()
for image in "$NODE_BASE" "$REDIS_BASE" "$NGINX_BASE"; do
  if [ "$force" = 1 ] || ! docker image inspect "$image" >/dev/null 2>&1; then missing+=("$image"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  log "all present: $NODE_BASE $REDIS_BASE $NGINX_BASE"
  exit 0
fi

[ "$(id -u)" = 0 ] || cannot "debootstrap and chroot need root (run as root, or make ${missing[*]} yourself)"
node_bin=$(command -v node) || cannot "no node on this machine to put in the image"
node_bin=$(readlink -f "$node_bin")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")") || cannot "no npm on this machine"
[ -f "$npm_dir/bin/npm-cli.js" ] || cannot "npm's folder not found (looked at $npm_dir)"
if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || cannot "no debootstrap, and no apt-get to install it"
  log "installing debootstrap"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >&2 ||
    cannot "apt-get install debootstrap failed"
fi

work=$(mktemp -d /var/tmp/chrome-plus-base.XXXXXX)
cleanup() {
  for dir in "$work"/*/; do
    [ -d "$dir/proc" ] && mountpoint -q "$dir/proc" && umount "$dir/proc" || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

log "debootstrap --variant=minbase $SUITE from $MIRROR (a minute or two)"
start=$SECONDS
if ! debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$work/base" "$MIRROR" \
  >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  cannot "debootstrap failed (is $MIRROR reachable?)"
fi
rm -rf "$work/base/var/cache/apt/archives/"*.deb
log "debootstrap took $((SECONDS - start)) s"
# The images trust what this machine trusts: its own CAs (/usr/local/share/ca-certificates, e.g. a proxy's that
# re-signs HTTPS on the way to the npm registry) join Debian's bundle, so `npm ci` in the build gets through.
local_cas=0
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$work/base/usr/local/share/ca-certificates/"
  chroot "$work/base" update-ca-certificates >/dev/null 2>&1 || cannot "update-ca-certificates failed in the image"
  local_cas=1
fi

# A copy of the base with Debian packages added; services are not started inside the chroot.
rootfs_with() {
  local name=$1
  shift
  cp -a "$work/base" "$work/$name"
  if [ $# -gt 0 ]; then
    printf '#!/bin/sh\nexit 101\n' >"$work/$name/usr/sbin/policy-rc.d"
    chmod +x "$work/$name/usr/sbin/policy-rc.d"
    mount -t proc proc "$work/$name/proc"
    chroot "$work/$name" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
      sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $* && apt-get clean" >&2
    umount "$work/$name/proc"
    rm -f "$work/$name/usr/sbin/policy-rc.d"
    rm -rf "$work/$name/var/lib/apt/lists/"*
  fi
}

import_image() {
  local name=$1 tag=$2
  shift 2
  tar --numeric-owner -C "$work/$name" -c . | docker import "$@" - "$tag" >/dev/null
  rm -rf "${work:?}/$name"
  log "made $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}'))"
}

wanted() { [[ " ${missing[*]} " == *" $1 "* ]]; }

path_env='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

if wanted "$NODE_BASE"; then
  rootfs_with node
  root="$work/node"
  install -m 0755 "$node_bin" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # The official image's user: uid and gid 1000, home /home/node.
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  node_env=()
  if [ "$local_cas" = 1 ]; then
    # npm and node read Debian's bundle, local CAs included, as on this machine.
    mkdir -p "$root/usr/local/etc"
    echo 'cafile=/etc/ssl/certs/ca-certificates.crt' >"$root/usr/local/etc/npmrc"
    node_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
  fi
  chroot "$root" /usr/local/bin/node -e 'process.exit(0)' || cannot "this machine's node does not run in the image"
  chroot "$root" /usr/local/bin/npm --version >/dev/null || cannot "this machine's npm does not run in the image"
  import_image node "$NODE_BASE" --change "ENV $path_env" "${node_env[@]}" --change 'CMD ["node"]'
fi

if wanted "$REDIS_BASE"; then
  rootfs_with redis redis-server redis-tools
  root="$work/redis"
  mkdir -p "$root/data"
  # As the official image: `redis-server …` runs with protected mode off (the network is the container's), in /data.
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = redis-server ]; then
  shift
  exec redis-server --protected-mode no "$@"
fi
exec "$@"
EOF
  chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"
  import_image redis "$REDIS_BASE" --change "ENV $path_env" --change 'WORKDIR /data' --change 'VOLUME /data' \
    --change 'EXPOSE 6379' --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["redis-server"]'
fi

if wanted "$NGINX_BASE"; then
  rootfs_with nginx nginx
  root="$work/nginx"
  # Only conf.d/*.conf serves (Debian's default site would take port 80 first); logs go to the container's output.
  rm -f "$root/etc/nginx/sites-enabled/"*
  mkdir -p "$root/etc/nginx/conf.d"
  ln -sf /dev/stdout "$root/var/log/nginx/access.log"
  ln -sf /dev/stderr "$root/var/log/nginx/error.log"
  import_image nginx "$NGINX_BASE" --change "ENV $path_env" --change 'EXPOSE 80' \
    --change 'CMD ["nginx", "-g", "daemon off;"]'
fi
