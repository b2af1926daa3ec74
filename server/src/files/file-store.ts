// Uploaded files in Redis, where every gateway and worker can reach them: written as they stream in, owned by
// their uploader, capped per file and per user, expiring after a retention time.
// Over 250 lines on purpose: the Lua scripts that keep the quota true and their callers belong together.
import { randomBytes } from 'node:crypto';
import type { Keys } from '../generations/keys.ts';
import type { RedisClient } from '../redis/connect.ts';
import { defineScript } from '../redis/script.ts';
import type { FileKind } from './file-types.ts';

export interface StoredFile {
  fileId: string;
  user: string;
  name: string;
  mime: string;
  kind: FileKind;
  bytes: number;
}

export interface FileStoreOptions {
  redis: RedisClient;
  keys: Keys;
  retentionMs: number;
  /** Bytes one user may have stored at once (within the retention time), uploads in progress included. */
  maxUserBytes: number;
  /** Files one user may have at once, uploads in progress included (each costs keys). Default 200. */
  maxUserFiles?: number;
  /** Uploads one user may have in progress at once. Default 8. */
  maxUserUploads?: number;
  /**
   * How long an upload may take. Its bytes count against the quota until then, so that a gateway that dies
   * mid-upload frees them when it passes. Default 10 minutes.
   */
  uploadMs?: number;
}

/**
 * Why the store refused to start or grow an upload: the user's bytes, files or uploads in progress are at their
 * limit, or the upload passed its deadline. `retryAfterMs`: when the user's first file or upload expires.
 */
export type Refusal = { ok: false; reason: 'bytes' | 'files' | 'uploads' | 'expired'; retryAfterMs: number };
export type Reservation = { ok: true } | Refusal;

export interface FileUsage {
  /** Bytes of the user's live files and uploads in progress. */
  bytes: number;
  /** Live files, uploads in progress included. */
  files: number;
  /** Uploads in progress. */
  uploads: number;
}

export const DEFAULT_MAX_USER_FILES = 200;
export const DEFAULT_MAX_USER_UPLOADS = 8;
export const DEFAULT_UPLOAD_MS = 10 * 60_000;

// Every quota script works on one user's keys (one hash tag): KEYS[1] their files (fileId → expiry ms),
// KEYS[2] their uploads in progress (fileId → deadline ms), KEYS[3] each file's bytes and '#total', their sum.
// Each one first forgets what expired, subtracting its bytes, so that the total never counts a dead file.
// Times are Redis's clock, which the data keys' expiries use too; the gateways' clocks may differ.
const PRUNE = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  local freed = 0
  for _, id in ipairs(expired) do
    freed = freed + tonumber(redis.call('HGET', KEYS[3], id) or '0')
    redis.call('HDEL', KEYS[3], id)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  -- Not -freed: Lua 5.1 writes minus zero as "-0", which HINCRBY refuses.
  if freed > 0 then redis.call('HINCRBY', KEYS[3], '#total', 0 - freed) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
`;

// The three keys live as long as the user's last file; with none left they go.
const TOUCH = `
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
  for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], last[2]) end
else
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
`;

// ARGV: fileId, uploadMs, maxBytes, maxFiles, maxUploads → {1, deadline} or {0, reason, retryAfterMs}.
const reserveScript = defineScript(`${PRUNE}
-- Twice the same id would reset its size under the total: ids are random, but the total must stay true.
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return redis.error_reply('file id already reserved') end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, 'uploads', math.min(tonumber(first[2]) - now, 2000)}
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, 'files', tonumber(first[2]) - now}
end
if tonumber(redis.call('HGET', KEYS[3], '#total') or '0') >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, 'bytes', tonumber(first[2]) - now}
end
local deadline = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], deadline, ARGV[1])
redis.call('ZADD', KEYS[2], deadline, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], 0)
redis.call('HINCRBY', KEYS[3], '#total', 0)
${TOUCH}
return {1, deadline}
`);

// ARGV: fileId, bytes, maxBytes → {1, deadline}, or {0, 'bytes' or 'expired', retryAfterMs}.
const growScript = defineScript(`${PRUNE}
local deadline = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not deadline then return {0, 'expired', 0} end
if tonumber(redis.call('HGET', KEYS[3], '#total') or '0') + tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, 'bytes', tonumber(first[2]) - now}
end
redis.call('HINCRBY', KEYS[3], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[3], '#total', ARGV[2])
return {1, deadline}
`);

// ARGV: fileId, retentionMs → the file's expiry (ms), or 0 when the upload is no longer in progress.
const commitScript = defineScript(`${PRUNE}
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
local expiry = now + tonumber(ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
${TOUCH}
return expiry
`);

// ARGV: fileId → the bytes it freed.
const releaseScript = defineScript(`${PRUNE}
local bytes = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if redis.call('HDEL', KEYS[3], ARGV[1]) == 1 and bytes > 0 then redis.call('HINCRBY', KEYS[3], '#total', 0 - bytes) end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
${TOUCH}
return bytes
`);

// → {bytes, files, uploads}.
const usageScript = defineScript(`${PRUNE}
${TOUCH}
return {tonumber(redis.call('HGET', KEYS[3], '#total') or '0'), redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2])}
`);

export type FileStore = ReturnType<typeof createFileStore>;

export function createFileStore(options: FileStoreOptions) {
  const { redis, keys } = options;
  const maxUserFiles = options.maxUserFiles ?? DEFAULT_MAX_USER_FILES;
  const maxUserUploads = options.maxUserUploads ?? DEFAULT_MAX_USER_UPLOADS;
  const uploadMs = options.uploadMs ?? DEFAULT_UPLOAD_MS;
  const quotaKeys = (user: string) => [
    keys.userFiles(user),
    keys.userUploads(user),
    keys.userFileBytes(user),
  ];

  return {
    /** The limits it enforces, for messages that name them. */
    limits: { maxUserBytes: options.maxUserBytes, maxUserFiles, maxUserUploads, uploadMs },

    newFileId(): string {
      return `f_${randomBytes(16).toString('base64url')}`;
    },

    /**
     * Starts an upload: counts the file against the user's quota as an upload in progress, empty so far.
     * Refused when the user has too many files or uploads, or no byte of room left.
     */
    async reserve(user: string, fileId: string): Promise<Reservation> {
      const [ok, reason, retryAfterMs] = (await reserveScript.run(redis, quotaKeys(user), [
        fileId,
        uploadMs,
        options.maxUserBytes,
        maxUserFiles,
        maxUserUploads,
      ])) as [number, string, number];
      if (ok === 1) return { ok: true };
      return { ok: false, reason: reason as Refusal['reason'], retryAfterMs: Math.max(retryAfterMs, 1000) };
    },

    /**
     * Appends one piece of a reserved upload, counting its bytes first. The data key expires at the upload's
     * deadline, as its reservation does, until `commit`.
     */
    async append(user: string, fileId: string, chunk: Buffer): Promise<Reservation> {
      const [ok, detail, retryAfterMs] = (await growScript.run(redis, quotaKeys(user), [
        fileId,
        chunk.length,
        options.maxUserBytes,
      ])) as [number, string, number];
      if (ok !== 1)
        return { ok: false, reason: detail as Refusal['reason'], retryAfterMs: Math.max(retryAfterMs, 1000) };
      await redis
        .multi()
        .append(keys.fileData(fileId), chunk)
        .pexpireat(keys.fileData(fileId), detail)
        .exec();
      return { ok: true };
    },

    /**
     * Makes an upload a file: its quota entry, record and data now expire after the retention time.
     * False when the upload passed its deadline first (its data may be gone): the caller releases it.
     */
    async commit(file: StoredFile): Promise<boolean> {
      const expiry = (await commitScript.run(redis, quotaKeys(file.user), [
        file.fileId,
        options.retentionMs,
      ])) as number;
      if (expiry === 0) return false;
      const results = await redis
        .multi()
        .pexpireat(keys.fileData(file.fileId), expiry)
        .hset(keys.file(file.fileId), {
          user: file.user,
          name: file.name,
          mime: file.mime,
          kind: file.kind,
          bytes: file.bytes,
        })
        .pexpireat(keys.file(file.fileId), expiry)
        .exec();
      // The data expired between the two (the upload ended just at its deadline): no file without its bytes.
      return results?.[0]?.[1] === 1;
    },

    /** Frees a file or an upload in progress: its bytes leave the user's quota and its keys are deleted. */
    async release(user: string, fileId: string): Promise<void> {
      await releaseScript.run(redis, quotaKeys(user), [fileId]);
      await redis.del(keys.file(fileId), keys.fileData(fileId), keys.fileText(fileId));
    },

    /** What the user holds now, expired files left out. */
    async usage(user: string): Promise<FileUsage> {
      const [bytes, files, uploads] = (await usageScript.run(redis, quotaKeys(user), [])) as number[];
      return { bytes: bytes ?? 0, files: files ?? 0, uploads: uploads ?? 0 };
    },

    /** The text extracted earlier from a file: a conversation sends its attachments again with every message. */
    cachedText(fileId: string): Promise<string | null> {
      return redis.get(keys.fileText(fileId));
    },

    /** Caches a file's text until the file itself expires. */
    async cacheText(fileId: string, text: string): Promise<void> {
      const ttl = await redis.pttl(keys.file(fileId));
      if (ttl > 0) await redis.set(keys.fileText(fileId), text, 'PX', ttl);
    },

    /** The file's record if it exists and belongs to `user`; someone else's file is as absent as an unknown one. */
    async get(fileId: string, user: string): Promise<StoredFile | undefined> {
      if (!/^f_[A-Za-z0-9_-]{10,64}$/.test(fileId)) return undefined;
      const fields = await redis.hgetall(keys.file(fileId));
      if (fields.user !== user) return undefined;
      return {
        fileId,
        user,
        name: fields.name ?? 'file',
        mime: fields.mime ?? 'application/octet-stream',
        kind: (fields.kind ?? 'text') as FileKind,
        bytes: Number(fields.bytes ?? 0),
      };
    },

    async read(fileId: string): Promise<Buffer | null> {
      return redis.getBuffer(keys.fileData(fileId));
    },
  };
}
