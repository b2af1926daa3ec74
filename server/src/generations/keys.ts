// Names of every Redis key and channel of a deployment, derived from its prefix; one place to read them all.
import { createHash } from 'node:crypto';

/**
 * A request's key: a digest of (user, client id), so that ids are per user and any id is a safe key.
 * It doubles as the BullMQ job id, which makes enqueueing idempotent.
 */
export function requestKey(user: string, id: string): string {
  // Length-prefixed, so that no (user, id) pair can spell another's.
  return createHash('sha256').update(`${user.length}:${user}:${id}`).digest('base64url').slice(0, 24);
}

export interface Keys {
  /** Hash: owner, state, seq counter, fencing token of the running attempt. Outlives the log: it is the claim. */
  meta(key: string): string;
  /** Stream: the request's events, one entry per event, entry id 0-<seq>. */
  log(key: string): string;
  /** Pub/Sub channel: each appended event, for live delivery; the log stays the truth. */
  events(key: string): string;
  /** Pub/Sub channel every worker listens on: request keys to cancel. */
  cancel: string;
  /**
   * Sorted sets: request key → time by which it must have ended (the backstop of guarantee 2). Spread over buckets,
   * each with a hash tag of its own, so that in a cluster no one slot takes every request's deadline.
   */
  deadlineBuckets: readonly string[];
  /** The deadline bucket of a request. */
  deadlines(key: string): string;
  /** Pub/Sub channel: users or device tokens changed in the database; every gateway reloads them. */
  accounts: string;
  /** Sorted set per user: their requests in flight, scored by deadline (so that leaks heal). */
  inflight(user: string): string;
  /** Counter per user and minute. */
  rate(user: string, minute: number): string;
  /** BullMQ prefix: one hash tag, so that a queue's keys share a cluster slot. */
  queuePrefix: string;
  /** Hash: an uploaded file's record (owner, name, type, size); written when its upload completes. */
  file(fileId: string): string;
  /** String: the file's bytes, appended as they stream in. */
  fileData(fileId: string): string;
  /** String: the text extracted from the file, cached for the conversation's next messages. */
  fileText(fileId: string): string;
  /** Sorted set per user: their live files and uploads in progress, fileId → expiry time (ms). */
  userFiles(user: string): string;
  /** Sorted set per user: their uploads in progress, fileId → upload deadline (ms). */
  userUploads(user: string): string;
  /** Hash per user: fileId → bytes of each live file, and `#total`, their sum, kept by the quota scripts. */
  userFileBytes(user: string): string;
}

/**
 * `deadlineBuckets` 1 (one node, Sentinel) keeps the one set `<prefix>:deadlines`; more (a cluster) gives
 * `<prefix>:deadlines:{<prefix>:dl:<n>}`, a request's bucket chosen by its key.
 */
export function createKeys(prefix: string, deadlineBuckets = 1): Keys {
  const buckets =
    deadlineBuckets <= 1
      ? [`${prefix}:deadlines`]
      : Array.from({ length: deadlineBuckets }, (_, index) => `${prefix}:deadlines:{${prefix}:dl:${index}}`);
  return {
    // {key} is a Redis Cluster hash tag: a request's keys land in one slot, so one script may touch them all.
    meta: (key) => `${prefix}:req:{${key}}`,
    log: (key) => `${prefix}:log:{${key}}`,
    events: (key) => `${prefix}:ev:{${key}}`,
    cancel: `${prefix}:cancel`,
    deadlineBuckets: buckets,
    deadlines: (key) => buckets[bucketOf(key, buckets.length)]!,
    accounts: `${prefix}:accounts`,
    inflight: (user) => `${prefix}:user:{${user}}:inflight`,
    rate: (user, minute) => `${prefix}:user:{${user}}:rpm:${minute}`,
    queuePrefix: `{${prefix}}`,
    // A file's keys share its id's slot; a user's quota keys share the user's, so one script keeps them true.
    file: (fileId) => `${prefix}:file:{${fileId}}`,
    fileData: (fileId) => `${prefix}:file:{${fileId}}:data`,
    fileText: (fileId) => `${prefix}:file:{${fileId}}:text`,
    userFiles: (user) => `${prefix}:user:{${user}}:files`,
    userUploads: (user) => `${prefix}:user:{${user}}:uploads`,
    // Not the old `:filebytes` counter (a string): a gateway of the previous version may still write that one.
    userFileBytes: (user) => `${prefix}:user:{${user}}:filesizes`,
  };
}

/** A string's bucket among `count`: FNV-1a, stable across processes and versions. */
function bucketOf(key: string, count: number): number {
  if (count <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index++) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}

export const QUEUE_NAME = 'chat';
