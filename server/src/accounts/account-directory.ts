// Who a token belongs to, answered from memory: AUTH_TOKENS, ADMIN_TOKEN and the database's live device tokens,
// reloaded when any process publishes a change (Redis Pub/Sub), after a Redis reconnect, and every `refreshMs`.
// Sign-in stays synchronous for every token in memory. A device token that memory does not hold (minted a moment
// ago through another gateway, whose notice has not arrived yet) is looked up in the database before it is refused:
// the one answer that is a promise. Callers check the sign-in throttle first: a guesser cannot make us query at will.
import { createAuthenticator, LOCAL_USER, type MaybePromise } from '../gateway/auth.ts';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis/connect.ts';
import { subscribeWhenReady } from '../redis/subscribe-when-ready.ts';
import type { AccountStore, Credential } from './account-store.ts';
import { hasDeviceTokenForm, tokenHash } from './device-token.ts';

/** The built-in administrator's name in the admin API's answers and logs. */
export const ADMIN_USER = 'admin';

/** Database look-ups of tokens not in memory running at once; a token beyond them is refused (a flood, not a user). */
export const MAX_TOKEN_LOOKUPS = 32;

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
  /** Look-ups of tokens not in memory running at once (default MAX_TOKEN_LOOKUPS). */
  maxLookups?: number;
}

export interface AccountDirectory {
  /**
   * The user of a token; everyone is `local` while no token of any kind exists (loopback only, see config). A promise
   * only for a token of the device-token form that is not in memory: it is looked up in the database.
   */
  authenticate(token: string | undefined): MaybePromise<string | undefined>;
  /** The user of an administrator's token (ADMIN_TOKEN, or a device token of an admin user); as authenticate. */
  administrator(token: string | undefined): MaybePromise<string | undefined>;
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
  // Each reload takes the next epoch before it reads the database. Tokens found by a look-up are kept beside memory
  // with the epoch their look-up began in, so that a reload which read before them does not drop them (see reload).
  let epoch = 0;
  const found = new Map<string, { credential: Credential; epoch: number }>();
  const lookups = new Map<string, Promise<Credential | undefined>>();
  const maxLookups = options.maxLookups ?? MAX_TOKEN_LOOKUPS;
  let lookupsRefused = 0;

  async function reload(): Promise<void> {
    const mine = ++epoch;
    const credentials = await store.credentials();
    const next = new Map(credentials.map((credential) => [credential.hash, credential]));
    const nextQuotas = new Map<string, number>();
    for (const credential of credentials)
      if (credential.tokensPerDay !== null) nextQuotas.set(credential.user, credential.tokensPerDay);
    const readUsers = new Set(credentials.map((credential) => credential.user));
    for (const [hash, entry] of found) {
      // A look-up that began before this reload ended before it began too (else it was not kept): this reading is
      // newer, and it decides. One that began during this reload may have read a token minted after this reading.
      if (entry.epoch < mine) {
        found.delete(hash);
        continue;
      }
      next.set(hash, entry.credential);
      const { user, tokensPerDay } = entry.credential;
      if (!readUsers.has(user) && tokensPerDay !== null) nextQuotas.set(user, tokensPerDay);
    }
    byHash = next;
    quotas = nextQuotas;
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
  const { subscriber } = options;
  // Without it, changes would reach this gateway only with the next refresh (seen in tests: revocations 20-30 s late).
  await subscribeWhenReady(subscriber, options.channel, logger);
  subscriber.on('message', (channel: string) => {
    if (channel === options.channel) void scheduleReload();
  });
  // Notices sent while the subscriber was away are lost: read everything again.
  subscriber.on('ready', () => void scheduleReload());
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

  /**
   * A device token memory does not hold, from the database: found live, it joins memory (and is touched). A reload
   * that begins while the look-up runs read the database later than it may have, and a revocation it saw must win:
   * then the answer is memory's once that reload is done.
   */
  function lookUp(token: string): Promise<Credential | undefined> {
    const hash = tokenHash(token);
    const running = lookups.get(hash);
    if (running !== undefined) return running;
    if (lookups.size >= maxLookups) {
      if (lookupsRefused++ % 1000 === 0)
        logger.warn({ running: lookups.size }, 'too many token look-ups at once: refusing unknown tokens');
      return Promise.resolve(undefined);
    }
    const lookup = (async () => {
      const began = epoch;
      let credential: Credential | undefined;
      try {
        credential = await store.credentialOf(hash);
      } catch (error) {
        logger.warn({ err: error }, 'looking up a token failed: refused');
        return undefined;
      }
      if (epoch !== began) {
        await reloading;
        credential = byHash.get(hash);
      } else if (credential !== undefined) {
        found.set(hash, { credential, epoch: began });
        byHash.set(hash, credential);
        if (credential.tokensPerDay !== null && !quotas.has(credential.user))
          quotas.set(credential.user, credential.tokensPerDay);
      }
      if (credential !== undefined) touch(credential);
      return credential;
    })().finally(() => lookups.delete(hash));
    lookups.set(hash, lookup);
    return lookup;
  }

  /** Open (everyone is the local user) only while nothing could sign anyone in: no token of any kind exists. */
  function open(): boolean {
    return options.staticTokens.size === 0 && adminCheck === undefined && byHash.size === 0;
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
      if (hasDeviceTokenForm(token))
        return lookUp(token).then((looked) => looked?.user ?? (open() ? LOCAL_USER : undefined));
      return open() ? LOCAL_USER : undefined;
    },
    administrator(token) {
      if (adminCheck?.(token) !== undefined) return ADMIN_USER;
      const adminOf = (credential: Credential | undefined) =>
        credential?.role === 'admin' ? credential.user : undefined;
      const credential = deviceCredential(token);
      if (credential !== undefined) {
        touch(credential);
        return adminOf(credential);
      }
      return hasDeviceTokenForm(token) ? lookUp(token).then(adminOf) : undefined;
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
