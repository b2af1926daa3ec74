// Who a token belongs to, answered from memory: AUTH_TOKENS, ADMIN_TOKEN and the database's live device tokens,
// reloaded when any process publishes a change (Redis Pub/Sub), after a Redis reconnect, and every `refreshMs`.
// Sign-in stays synchronous: no database call on the hot path.

import { createAuthenticator, LOCAL_USER } from '../gateway/auth.ts';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { AccountStore, Credential } from './account-store.ts';
import { tokenHash } from './device-token.ts';

/** The built-in administrator's name in the admin API's answers and logs. */
export const ADMIN_USER = 'admin';

export interface AccountDirectoryOptions {
  store: AccountStore;
  /** AUTH_TOKENS: token → user; these users cannot be changed through the admin API. */
  staticTokens: ReadonlyMap<string, string>;
  adminToken?: string;
  /** A connection of its own, in subscriber mode. */
  subscriber: RedisClient;
  publisher: RedisClient;
  /** The Pub/Sub channel of change notices. */
  channel: string;
  refreshMs: number;
  logger: Logger;
  /** How often tokens' last-used times are written (default 10 s); a token is written at most once a minute. */
  touchIntervalMs?: number;
}

export interface AccountDirectory {
  /** The user of a token; everyone is `local` while no token of any kind exists (loopback only, see config). */
  authenticate(token: string | undefined): string | undefined;
  /** The user of an administrator's token (ADMIN_TOKEN, or a device token of an admin user). */
  administrator(token: string | undefined): string | undefined;
  /** The SHA-256 of a device token, to check later that it is still live; undefined for other tokens. */
  deviceTokenHash(token: string | undefined): string | undefined;
  /** Whether a device token (by hash) still belongs to an enabled user. */
  isLive(hash: string): boolean;
  /** The user's daily token budget, if any. */
  quotaOf(user: string): number | undefined;
  /** Users defined by AUTH_TOKENS. */
  readonly staticUsers: ReadonlySet<string>;
  /** Reloads here and tells every other process to. */
  changed(): Promise<void>;
  /** Called after each reload (the gateway closes the sockets of tokens no longer live). */
  onReload(listener: () => void): void;
  close(): Promise<void>;
}

export async function startAccountDirectory(options: AccountDirectoryOptions): Promise<AccountDirectory> {
  const { store, logger } = options;
  const fromStatic = createAuthenticator(options.staticTokens);
  const adminCheck =
    options.adminToken === undefined
      ? undefined
      : createAuthenticator(new Map([[options.adminToken, ADMIN_USER]]));
  const staticUsers = new Set(options.staticTokens.values());
  let byHash = new Map<string, Credential>();
  let quotas = new Map<string, number>();
  const listeners: (() => void)[] = [];
  const lastTouched = new Map<number, number>();
  const pendingTokens = new Set<number>();
  const pendingUsers = new Set<number>();

  async function reload(): Promise<void> {
    const credentials = await store.credentials();
    byHash = new Map(credentials.map((credential) => [credential.hash, credential]));
    quotas = new Map();
    for (const credential of credentials)
      if (credential.tokensPerDay !== null) quotas.set(credential.user, credential.tokensPerDay);
    for (const listener of listeners) listener();
  }
  // Reloads never overlap, and a notice that arrives during one causes another after it.
  let reloading: Promise<void> | undefined;
  let again = false;
  function scheduleReload(): Promise<void> {
    if (reloading !== undefined) {
      again = true;
      return reloading;
    }
    reloading = (async () => {
      do {
        again = false;
        await reload().catch((error: unknown) => logger.warn({ err: error }, 'reloading accounts failed'));
      } while (again);
      reloading = undefined;
    })();
    return reloading;
  }

  await reload();
  await options.subscriber.subscribe(options.channel);
  options.subscriber.on('message', (channel: string) => {
    if (channel === options.channel) void scheduleReload();
  });
  // Notices sent while the subscriber was away are lost: read everything again.
  options.subscriber.on('ready', () => void scheduleReload());
  const refresh = setInterval(() => void scheduleReload(), options.refreshMs);
  refresh.unref();
  const touchTimer = setInterval(() => void flushTouches(), options.touchIntervalMs ?? 10_000);
  touchTimer.unref();

  async function flushTouches(): Promise<void> {
    if (pendingTokens.size === 0) return;
    const tokens = [...pendingTokens];
    const users = [...pendingUsers];
    pendingTokens.clear();
    pendingUsers.clear();
    await store
      .touch(tokens, users)
      .catch((error: unknown) => logger.warn({ err: error }, 'could not record token use'));
  }

  function deviceCredential(token: string | undefined): Credential | undefined {
    if (token === undefined || token.length === 0 || token.length > 4096) return undefined;
    return byHash.get(tokenHash(token));
  }

  function touch(credential: Credential): void {
    const now = Date.now();
    if (now - (lastTouched.get(credential.tokenId) ?? 0) < 60_000) return;
    lastTouched.set(credential.tokenId, now);
    pendingTokens.add(credential.tokenId);
    pendingUsers.add(credential.userId);
  }

  return {
    authenticate(token) {
      const user = fromStatic(token);
      if (options.staticTokens.size > 0 && user !== undefined) return user;
      const credential = deviceCredential(token);
      if (credential !== undefined) {
        touch(credential);
        return credential.user;
      }
      // Open (everyone is the local user) only while nothing could sign anyone in: no token of any kind exists.
      if (options.staticTokens.size === 0 && adminCheck === undefined && byHash.size === 0) return LOCAL_USER;
      return undefined;
    },
    administrator(token) {
      if (adminCheck?.(token) !== undefined) return ADMIN_USER;
      const credential = deviceCredential(token);
      if (credential?.role !== 'admin') return undefined;
      touch(credential);
      return credential.user;
    },
    deviceTokenHash(token) {
      return deviceCredential(token)?.hash;
    },
    isLive: (hash) => byHash.has(hash),
    quotaOf: (user) => quotas.get(user),
    staticUsers,
    async changed() {
      await scheduleReload();
      await options.publisher.publish(options.channel, 'changed');
    },
    onReload(listener) {
      listeners.push(listener);
    },
    async close() {
      clearInterval(refresh);
      clearInterval(touchTimer);
      await flushTouches();
      await reloading;
      await options.subscriber.unsubscribe(options.channel).catch(() => {});
    },
  };
}
