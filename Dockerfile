# syntax=docker/dockerfile:1
# The Chrome Plus server: one image for both roles, the command picks one (`gateway`, `worker`, or `all`).
#   docker build -t chrome-plus .
#   docker run --env-file .env chrome-plus gateway      # or: chrome-plus worker
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. The server's production dependencies, and nothing else of the workspace. npm ci reads every workspace's
#    manifest (the lockfile names them all), hence the package.json of the extension, the benchmark and the test kit.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY client/package.json client/
COPY server/package.json server/
COPY extension/package.json extension/
COPY bench/package.json bench/
COPY testkit/package.json testkit/
# No install scripts: msgpackr (BullMQ) finds its prebuilt binary, or falls back to JavaScript.
# The workspace links go: protocol is bundled into the server, nothing imports it at run time.
RUN npm ci --omit=dev --workspace=@chrome-plus/server --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/@chrome-plus \
  && mkdir -p server/node_modules \
  && npm cache clean --force

# 2. The bundle: server and protocol sources into server/dist/main.js and its chunks (npm packages stay external).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY client/package.json client/
COPY server/package.json server/
COPY extension/package.json extension/
COPY bench/package.json bench/
COPY testkit/package.json testkit/
RUN npm ci --workspace=@chrome-plus/server --include-workspace-root --ignore-scripts --no-audit --no-fund
COPY protocol/src protocol/src
COPY server/build.mjs server/build-externals.mjs server/
COPY server/src server/src
RUN npm run build --workspace=@chrome-plus/server

# 3. The runtime: Node, the dependencies, the bundle; owned by root, run as the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8787 \
    WORKER_PORT=9464
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/server/node_modules server/node_modules
COPY server/package.json server/
COPY --from=build /app/server/dist server/dist
USER node
# 8787: the gateway (WebSocket, uploads, /healthz, /readyz, /metrics); 9464: a worker's /healthz, /readyz, /metrics.
EXPOSE 8787 9464
# Liveness of whichever role runs here: the check asks PORT, then WORKER_PORT.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "server/dist/healthcheck.js"]
# Node is PID 1 and handles SIGTERM itself (graceful shutdown); `docker run --init` or compose's `init: true`
# adds a reaper, for tidiness.
ENTRYPOINT ["node", "--enable-source-maps", "server/dist/main.js"]
CMD ["gateway"]
