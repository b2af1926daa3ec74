// Uploaded files in Redis, where every gateway and worker can reach them: written as they stream in, owned by
// their uploader, capped per file and per user, expiring after a retention time.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
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
  redis: Redis;
  prefix: string;
  retentionMs: number;
  /** Bytes one user may have stored at once (within the retention time). */
  maxUserBytes: number;
}

export type FileStore = ReturnType<typeof createFileStore>;

export function createFileStore(options: FileStoreOptions) {
  const { redis, prefix } = options;
  const metaKey = (fileId: string) => `${prefix}:file:{${fileId}}`;
  const dataKey = (fileId: string) => `${prefix}:file:{${fileId}}:data`;
  const textKey = (fileId: string) => `${prefix}:file:{${fileId}}:text`;
  const usageKey = (user: string) => `${prefix}:user:{${user}}:filebytes`;

  return {
    newFileId(): string {
      return `f_${randomBytes(16).toString('base64url')}`;
    },

    /** Reserves `bytes` of the user's quota; false when it would pass the limit. */
    async reserve(user: string, bytes: number): Promise<boolean> {
      const used = await redis.incrby(usageKey(user), bytes);
      await redis.pexpire(usageKey(user), options.retentionMs);
      if (used > options.maxUserBytes) {
        await redis.decrby(usageKey(user), bytes);
        return false;
      }
      return true;
    },

    release(user: string, bytes: number): Promise<number> {
      return redis.decrby(usageKey(user), bytes);
    },

    /** Appends one piece of a file being uploaded. The data key lives briefly until `commit`. */
    async append(fileId: string, chunk: Buffer): Promise<void> {
      await redis
        .multi()
        .append(dataKey(fileId), chunk)
        .pexpire(dataKey(fileId), 10 * 60_000)
        .exec();
    },

    async commit(file: StoredFile): Promise<void> {
      await redis
        .multi()
        .hset(metaKey(file.fileId), {
          user: file.user,
          name: file.name,
          mime: file.mime,
          kind: file.kind,
          bytes: file.bytes,
        })
        .pexpire(metaKey(file.fileId), options.retentionMs)
        .pexpire(dataKey(file.fileId), options.retentionMs)
        .exec();
    },

    async discard(fileId: string): Promise<void> {
      await redis.del(metaKey(fileId), dataKey(fileId), textKey(fileId));
    },

    /** The text extracted earlier from a file: a conversation sends its attachments again with every message. */
    cachedText(fileId: string): Promise<string | null> {
      return redis.get(textKey(fileId));
    },

    async cacheText(fileId: string, text: string): Promise<void> {
      const ttl = await redis.pttl(metaKey(fileId));
      if (ttl > 0) await redis.set(textKey(fileId), text, 'PX', ttl);
    },

    /** The file's record if it exists and belongs to `user`; someone else's file is as absent as an unknown one. */
    async get(fileId: string, user: string): Promise<StoredFile | undefined> {
      if (!/^f_[A-Za-z0-9_-]{10,64}$/.test(fileId)) return undefined;
      const fields = await redis.hgetall(metaKey(fileId));
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
      return redis.getBuffer(dataKey(fileId));
    },
  };
}
