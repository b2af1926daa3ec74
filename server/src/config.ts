// The environment, parsed once at start-up into one typed, validated config object.
// Over 250 lines on purpose: every variable with its default and bounds in one place, from which the Config type is
// inferred; splitting it would split the one list an operator reads.
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { HELLO_TIMEOUT_MS } from '@chrome-plus/protocol';
import { z } from 'zod';
import type { PubSubMode, RedisAddress, RedisTarget } from './redis/connect.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ProviderConfig {
  /** Stable provider name: "openai", "deepseek", "demo", ... */
  id: string;
  kind: 'openai-compatible' | 'demo';
  baseURL?: string;
  /** Secret: never logged, never sent to a client. */
  apiKey?: string;
  models: ModelConfig[];
}

export interface ModelConfig {
  id: string;
  reasoning: boolean;
  vision: boolean;
}

/** The configuration: its type is what `loadConfig` returns, so that the parser is the one declaration. */
export type Config = ReturnType<typeof loadConfig>;

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function url(env: Env, name: string, fallback: string | undefined, protocols: string[]): string | undefined {
  const raw = read(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL (got "${raw}")`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.join(' or ')} (got "${parsed.protocol}")`);
  }
  return raw.replace(/\/+$/, '');
}

function modelList(env: Env, name: string, fallback: string[], reasoningIds: string[] = []): ModelConfig[] {
  const raw = read(env, name);
  const ids = raw === undefined ? fallback : raw.split(',').map((id) => id.trim());
  const visionIds = (read(env, 'VISION_MODELS') ?? '').split(',').map((id) => id.trim());
  for (const id of ids) {
    if (!/^[A-Za-z0-9._:/@-]{1,200}$/.test(id))
      throw new ConfigError(`${name} has an invalid model id "${id}"`);
  }
  return ids.map((id) => ({ id, reasoning: reasoningIds.includes(id), vision: visionIds.includes(id) }));
}

function flag(env: Env, name: string): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined || ['0', 'false', 'off', 'no'].includes(raw)) return false;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  throw new ConfigError(`${name} must be on or off (got "${raw}")`);
}

function secret(env: Env, name: string): string | undefined {
  const token = read(env, name);
  if (token !== undefined && token.length < 16)
    throw new ConfigError(`${name} must have at least 16 characters`);
  return token;
}

/** DATABASE_URL: PostgreSQL; unset: PGlite in DATA_DIR (one process only); `none`: no accounts database. */
function database(
  env: Env,
): { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string } | { kind: 'none' } {
  const raw = read(env, 'DATABASE_URL');
  if (raw === 'none') return { kind: 'none' };
  if (raw === undefined) return { kind: 'pglite', dataDir: read(env, 'DATA_DIR') ?? './data' };
  return { kind: 'postgres', url: url(env, 'DATABASE_URL', undefined, ['postgres:', 'postgresql:'])! };
}

/** A list of Redis nodes, `host:port` or `redis[s]://[user:password@]host:port[/db]`, comma-separated. */
function redisAddresses(env: Env, name: string): { nodes: RedisAddress[]; tls: boolean; db: number } {
  const raw = read(env, name) ?? '';
  const nodes: RedisAddress[] = [];
  let tls = false;
  let db = 0;
  for (const [index, entry] of raw.split(',').entries()) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    let parsed: URL;
    try {
      parsed = new URL(trimmed.includes('://') ? trimmed : `redis://${trimmed}`);
    } catch {
      throw new ConfigError(`${name} entry ${index + 1} must be host:port (got "${trimmed}")`);
    }
    if (!['redis:', 'rediss:'].includes(parsed.protocol) || parsed.hostname === '' || parsed.port === '') {
      throw new ConfigError(`${name} entry ${index + 1} must be host:port (got "${trimmed}")`);
    }
    if (parsed.protocol === 'rediss:') tls = true;
    const path = parsed.pathname.replace(/^\/+/, '');
    if (path !== '') db = Number(path);
    nodes.push({ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) });
  }
  if (nodes.length === 0) throw new ConfigError(`${name} must list at least one host:port`);
  return { nodes, tls, db };
}

/**
 * Where Redis is: REDIS_URL (one node, the default), REDIS_SENTINELS + REDIS_SENTINEL_NAME (the master Sentinel
 * names), or REDIS_CLUSTER_NODES (a Redis Cluster). REDIS_PASSWORD, REDIS_USERNAME and REDIS_TLS apply to the last two.
 */
function redisTarget(env: Env, redisUrl: string): RedisTarget {
  const sentinels = read(env, 'REDIS_SENTINELS');
  const clusterNodes = read(env, 'REDIS_CLUSTER_NODES');
  if (sentinels !== undefined && clusterNodes !== undefined) {
    throw new ConfigError('REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set: choose Sentinel or Cluster');
  }
  if (sentinels === undefined && clusterNodes === undefined) {
    for (const name of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD']) {
      if (read(env, name) !== undefined) throw new ConfigError(`${name} is set but REDIS_SENTINELS is not`);
    }
    return { mode: 'single', url: redisUrl };
  }
  const secrets = {
    ...(read(env, 'REDIS_USERNAME') !== undefined && { username: read(env, 'REDIS_USERNAME')! }),
    ...(read(env, 'REDIS_PASSWORD') !== undefined && { password: read(env, 'REDIS_PASSWORD')! }),
  };
  const dbRaw = read(env, 'REDIS_DB');
  if (clusterNodes !== undefined) {
    const { nodes, tls, db } = redisAddresses(env, 'REDIS_CLUSTER_NODES');
    const clusterOnly = (source: string, index: number) =>
      new ConfigError(
        `${source} selects database ${index}, but a Redis Cluster has only database 0: remove it (REDIS_CLUSTER_NODES is set)`,
      );
    if (db !== 0) throw clusterOnly('REDIS_CLUSTER_NODES', db);
    if (dbRaw !== undefined && dbRaw !== '0') throw clusterOnly('REDIS_DB', Number(dbRaw));
    const urlDb = new URL(redisUrl).pathname.replace(/^\/+/, '');
    if (read(env, 'REDIS_URL') !== undefined && urlDb !== '' && urlDb !== '0') {
      throw clusterOnly('REDIS_URL', Number(urlDb));
    }
    if (read(env, 'REDIS_SENTINEL_NAME') !== undefined)
      throw new ConfigError('REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not');
    return { mode: 'cluster', nodes, tls: tls || flag(env, 'REDIS_TLS'), ...secrets };
  }
  const { nodes, tls } = redisAddresses(env, 'REDIS_SENTINELS');
  const name = read(env, 'REDIS_SENTINEL_NAME');
  if (name === undefined) {
    throw new ConfigError(
      'REDIS_SENTINEL_NAME must name the master the sentinels watch (e.g. mymaster) when REDIS_SENTINELS is set',
    );
  }
  const sentinelPassword = read(env, 'REDIS_SENTINEL_PASSWORD');
  return {
    mode: 'sentinel',
    sentinels: nodes,
    name,
    tls: tls || flag(env, 'REDIS_TLS'),
    db: integer(env, 'REDIS_DB', 0, 0, 15),
    ...secrets,
    ...(sentinelPassword !== undefined && { sentinelPassword }),
  };
}

function pubSubSetting(env: Env): PubSubMode | 'auto' {
  const raw = read(env, 'REDIS_PUBSUB') ?? 'auto';
  if (raw !== 'auto' && raw !== 'sharded' && raw !== 'classic') {
    throw new ConfigError(`REDIS_PUBSUB must be auto, sharded or classic (got "${raw}")`);
  }
  return raw;
}

export function parseTokens(raw: string | undefined): Map<string, string> {
  const tokens = new Map<string, string>();
  if (raw === undefined) return tokens;
  for (const [index, entry] of raw.split(',').entries()) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const colon = trimmed.indexOf(':');
    const user = trimmed.slice(0, colon);
    const token = trimmed.slice(colon + 1);
    if (colon <= 0 || !/^[A-Za-z0-9._@-]{1,64}$/.test(user)) {
      throw new ConfigError(
        `AUTH_TOKENS entry ${index + 1} must be user:token with a user of letters, digits, . _ @ - (1-64 characters)`,
      );
    }
    if (token.length < 8)
      throw new ConfigError(
        `AUTH_TOKENS entry ${index + 1} (user "${user}"): token must have at least 8 characters`,
      );
    if (tokens.has(token))
      throw new ConfigError(`AUTH_TOKENS entry ${index + 1} (user "${user}"): token is used twice`);
    tokens.set(token, user);
  }
  return tokens;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Reads the configuration from `env`; throws ConfigError naming the variable at fault. */
export function loadConfig(env: Env = process.env) {
  const host = read(env, 'HOST') ?? '127.0.0.1';
  const port = integer(env, 'PORT', 8787, 0, 65535);
  const redisUrl = url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:'])!;
  const redis = redisTarget(env, redisUrl);
  const redisPubSub = pubSubSetting(env);
  if (redis.mode === 'cluster' && redisPubSub === 'classic') {
    throw new ConfigError(
      'REDIS_PUBSUB=classic is refused with REDIS_CLUSTER_NODES: a cluster needs sharded Pub/Sub',
    );
  }
  const tokens = parseTokens(read(env, 'AUTH_TOKENS'));
  const adminToken = secret(env, 'ADMIN_TOKEN');
  if (tokens.size === 0 && adminToken === undefined && !isLoopback(host)) {
    throw new ConfigError(
      `HOST is ${host}, not a loopback address, and neither AUTH_TOKENS nor ADMIN_TOKEN is set: set AUTH_TOKENS (user:token,...), or ADMIN_TOKEN to create users and their tokens, before listening beyond this machine`,
    );
  }
  const originsRaw = read(env, 'ALLOWED_ORIGINS');
  const allowedOrigins = originsRaw
    ?.split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');

  const logLevel = read(env, 'LOG_LEVEL') ?? 'info';
  if (!logLevelSchema.safeParse(logLevel).success) {
    throw new ConfigError(
      `LOG_LEVEL must be one of ${logLevelSchema.options.join(', ')} (got "${logLevel}")`,
    );
  }
  const keyPrefix = read(env, 'KEY_PREFIX') ?? 'cp';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(keyPrefix))
    throw new ConfigError('KEY_PREFIX must be 1-32 letters, digits, _ or -');

  const providers: ProviderConfig[] = [];
  const openaiKey = read(env, 'OPENAI_API_KEY');
  const openaiBase = url(env, 'OPENAI_BASE_URL', undefined, ['http:', 'https:']);
  if (openaiKey !== undefined || openaiBase !== undefined) {
    const models = modelList(
      env,
      'OPENAI_MODEL',
      ['gpt-4o-mini'],
      (read(env, 'REASONING_MODELS') ?? '').split(','),
    );
    providers.push({
      id: 'openai',
      kind: 'openai-compatible',
      baseURL: openaiBase ?? 'https://api.openai.com/v1',
      apiKey: openaiKey,
      models,
    });
  }
  const deepseekKey = read(env, 'DEEPSEEK_API_KEY');
  const deepseekBase = url(env, 'DEEPSEEK_BASE_URL', undefined, ['http:', 'https:']);
  if (deepseekKey !== undefined || deepseekBase !== undefined) {
    providers.push({
      id: 'deepseek',
      kind: 'openai-compatible',
      baseURL: deepseekBase ?? 'https://api.deepseek.com',
      apiKey: deepseekKey,
      models: modelList(env, 'DEEPSEEK_MODEL', ['deepseek-chat', 'deepseek-reasoner'], ['deepseek-reasoner']),
    });
  }
  if (providers.length === 0 || read(env, 'DEMO_MODEL') === 'on') {
    providers.push({ id: 'demo', kind: 'demo', models: [{ id: 'demo', reasoning: false, vision: false }] });
  }
  const modelIds = providers.flatMap((provider) => provider.models.map((model) => model.id));
  const duplicate = modelIds.find((id, index) => modelIds.indexOf(id) !== index);
  if (duplicate !== undefined) throw new ConfigError(`model "${duplicate}" is configured for two providers`);
  const defaultModel = read(env, 'DEFAULT_MODEL') ?? modelIds[0]!;
  if (!modelIds.includes(defaultModel)) {
    throw new ConfigError(
      `DEFAULT_MODEL "${defaultModel}" is not one of the configured models: ${modelIds.join(', ')}`,
    );
  }

  return {
    host,
    port,
    redisUrl,
    /** Where Redis is: one node (REDIS_URL), a Sentinel-managed master, or a cluster (redis/connect.ts). */
    redis,
    /** Generation events on sharded Pub/Sub (SPUBLISH, Redis >= 7.0) or classic; auto: sharded when Redis has it. */
    redisPubSub,
    /** Sorted sets the request deadlines are spread over, each its own hash tag (one key would be one hot slot). */
    deadlineBuckets: integer(env, 'DEADLINE_BUCKETS', redis.mode === 'cluster' ? 16 : 1, 1, 1024),
    /** Prefix of every Redis key this deployment writes; tests use their own. */
    keyPrefix,
    /** token → user; empty means "no tokens": loopback only, hello needs no token. */
    tokens: tokens as ReadonlyMap<string, string>,
    /** Where users, device tokens and usage live (db/database.ts). */
    database: database(env),
    /** The built-in administrator's bearer token for /v1/admin/ (undefined: only admin users' device tokens). */
    adminToken,
    /** How often each gateway reloads users and tokens even without a change notice (a backstop for lost ones). */
    accountsRefreshMs: integer(env, 'ACCOUNTS_REFRESH_MS', 30_000, 1_000, 3_600_000),
    /** Origins allowed to connect or upload; undefined: only Chrome Plus's extension (gateway/origin.ts). */
    allowedOrigins: allowedOrigins as readonly string[] | undefined,
    providers: providers as readonly ProviderConfig[],
    defaultModel,
    workerConcurrency: integer(env, 'WORKER_CONCURRENCY', 50, 1, 10_000),
    /** Processes of the worker role (each its own BullMQ consumer of WORKER_CONCURRENCY jobs), one per core. */
    workerProcesses: integer(env, 'WORKER_PROCESSES', availableParallelism(), 1, 256),
    logLevel,
    limits: {
      maxFrameBytes: integer(env, 'MAX_FRAME_BYTES', 1_048_576, 1024, 64 * 1_048_576),
      requestsPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 60, 1, 1_000_000),
      concurrentGenerations: integer(env, 'MAX_CONCURRENT_GENERATIONS', 4, 1, 100_000),
      framesPerSecond: integer(env, 'MAX_FRAMES_PER_SECOND', 50, 1, 100_000),
      /** Sockets one user may hold open on one gateway. */
      socketsPerUser: integer(env, 'MAX_SOCKETS_PER_USER', 32, 1, 100_000),
      maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', 10 * 1_048_576, 1024, 1024 * 1_048_576),
      /** Frames (and their bytes) a socket may have waiting to be handled before the gateway stops reading it. */
      pendingFrames: integer(env, 'MAX_PENDING_FRAMES', 8, 1, 10_000),
      pendingBytes: integer(env, 'MAX_PENDING_BYTES', 2 * 1_048_576, 1024, 1024 * 1_048_576),
      /** Attachment references in one request (every message counted), and distinct files among them. */
      attachmentRefs: integer(env, 'MAX_ATTACHMENTS_PER_REQUEST', 64, 0, 100_000),
      attachmentFiles: integer(env, 'MAX_FILES_PER_REQUEST', 32, 0, 10_000),
      /** Characters of attached files' text one request may put in the prompt. */
      attachmentCharsPerRequest: integer(env, 'ATTACHMENT_MAX_CHARS_PER_REQUEST', 300_000, 100, 100_000_000),
      /** Bytes of images one request may pass to a vision model. */
      imageBytesPerRequest: integer(env, 'MAX_IMAGE_BYTES_PER_REQUEST', 20 * 1_048_576, 0, 1024 * 1_048_576),
      /** Failed sign-ins from one address before it must wait. */
      loginFailures: integer(env, 'LOGIN_MAX_FAILURES', 10, 1, 1_000_000),
    },
    /** Bearer token /metrics asks for; without it, /metrics is served only when no AUTH_TOKENS are set. */
    metricsToken: secret(env, 'METRICS_TOKEN'),
    /** Trust the last X-Forwarded-For entry as the client's address (behind a proxy that sets it). */
    trustProxy: flag(env, 'TRUST_PROXY'),
    timeouts: {
      connectMs: integer(env, 'PROVIDER_CONNECT_TIMEOUT_MS', 15_000, 100, 600_000),
      idleMs: integer(env, 'PROVIDER_IDLE_TIMEOUT_MS', 60_000, 100, 3_600_000),
      totalMs: integer(env, 'PROVIDER_TOTAL_TIMEOUT_MS', 600_000, 1000, 86_400_000),
      queueWaitMs: integer(env, 'QUEUE_WAIT_TIMEOUT_MS', 300_000, 1000, 86_400_000),
    },
    retries: {
      maxAttempts: integer(env, 'PROVIDER_MAX_ATTEMPTS', 4, 1, 20),
      baseDelayMs: integer(env, 'PROVIDER_RETRY_BASE_MS', 500, 1, 60_000),
      maxDelayMs: integer(env, 'PROVIDER_RETRY_MAX_MS', 20_000, 1, 600_000),
    },
    heartbeatMs: integer(env, 'HEARTBEAT_MS', 25_000, 100, 600_000),
    /** A socket that has not said hello this long after it opened is closed with 4408 (the protocol's 5 s). */
    helloTimeoutMs: integer(env, 'HELLO_TIMEOUT_MS', HELLO_TIMEOUT_MS, 100, 600_000),
    /** How long a socket that stopped reading may hold back its answers before it is closed with 1013. */
    slowReaderCloseMs: integer(env, 'SLOW_READER_CLOSE_MS', 30_000, 100, 600_000),
    /** How long a finished request's log stays readable. */
    retentionMs: integer(env, 'RETENTION_MS', 15 * 60_000, 1000, 30 * 86_400_000),
    /** How long a finished request's record (its id's claim) outlives its log: a resume is told "expired", a repeat replays nothing new. */
    recordMs: integer(env, 'REQUEST_RECORD_MS', 24 * 3_600_000, 60_000, 365 * 86_400_000),
    /** How long a worker may hold a job without renewing its lock before another takes it over. */
    lockDurationMs: integer(env, 'WORKER_LOCK_MS', 15_000, 500, 600_000),
    /** Where the worker serves /healthz and /metrics (0: no HTTP server). */
    workerPort: integer(env, 'WORKER_PORT', 0, 0, 65535),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    files: {
      retentionMs: integer(env, 'FILE_RETENTION_MS', 24 * 3_600_000, 60_000, 30 * 86_400_000),
      /** Bytes one user may have stored at once. */
      maxUserBytes: integer(env, 'MAX_USER_STORAGE_BYTES', 100 * 1_048_576, 1024, 1024 * 1_048_576 * 1024),
      /** Files one user may have stored at once, uploads in progress included. */
      maxUserFiles: integer(env, 'MAX_USER_FILES', 200, 1, 100_000),
      /** Uploads one user may have in progress at once. */
      maxUserUploads: integer(env, 'MAX_CONCURRENT_UPLOADS', 8, 1, 1000),
      extractTimeoutMs: integer(env, 'EXTRACT_TIMEOUT_MS', 20_000, 100, 600_000),
      /** What reading one file may add to its extraction child's address space. */
      extractMemoryMb: integer(env, 'EXTRACT_MEMORY_MB', 256, 16, 8192),
      /** Extractions (child processes) one worker process runs at once; the others wait their turn. */
      extractConcurrency: integer(env, 'EXTRACT_CONCURRENCY', 2, 1, 64),
      /** Characters of extracted text kept per file. */
      maxCharsPerFile: integer(env, 'ATTACHMENT_MAX_CHARS', 100_000, 100, 10_000_000),
    },
    search: webSearch(env),
  };
}

/** SEARXNG_URL: a SearXNG instance whose JSON API the workers query; unset: web search is off. */
function webSearch(env: Env) {
  const searxngUrl = url(env, 'SEARXNG_URL', undefined, ['http:', 'https:']);
  return {
    /** Secret if it holds credentials (`https://user:password@host`): logged without them. */
    searxngUrl,
    /** The whole search call: connect, answer and body. */
    timeoutMs: integer(env, 'SEARCH_TIMEOUT_MS', 5_000, 100, 120_000),
    /** Results put in the prompt (and shown as sources). */
    maxResults: integer(env, 'SEARCH_MAX_RESULTS', 5, 1, 20),
    /** Bytes of the search answer read; a longer one is dropped unread past this. */
    maxResponseBytes: integer(env, 'SEARCH_MAX_RESPONSE_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    /** Characters of one result's text (its snippet) kept for the prompt. */
    maxCharsPerResult: integer(env, 'SEARCH_MAX_CHARS_PER_RESULT', 1_000, 50, 20_000),
  };
}

/** The config as it may be logged: no tokens, no keys. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    host: config.host,
    port: config.port,
    redisUrl: config.redisUrl.replace(/\/\/[^@/]*@/, '//***@'),
    redis:
      config.redis.mode === 'single'
        ? 'single'
        : config.redis.mode === 'sentinel'
          ? { mode: 'sentinel', name: config.redis.name, sentinels: config.redis.sentinels }
          : { mode: 'cluster', nodes: config.redis.nodes },
    redisPubSub: config.redisPubSub,
    database:
      config.database.kind === 'postgres'
        ? { kind: 'postgres', url: config.database.url.replace(/\/\/[^@/]*@/, '//***@') }
        : config.database,
    adminToken: config.adminToken === undefined ? 'unset' : 'set',
    keyPrefix: config.keyPrefix,
    users: [...new Set(config.tokens.values())],
    providers: config.providers.map((provider) => ({
      id: provider.id,
      baseURL: provider.baseURL,
      apiKey: provider.apiKey === undefined ? 'unset' : 'set',
      models: provider.models.map((model) => model.id),
    })),
    defaultModel: config.defaultModel,
    workerConcurrency: config.workerConcurrency,
    workerProcesses: config.workerProcesses,
    webSearch: config.search.searxngUrl === undefined ? 'off' : redactUrl(config.search.searxngUrl),
  };
}

/** A URL without its user name and password. */
function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, '//***@');
}
