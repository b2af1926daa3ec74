// The directory answers from memory at once; a device token it does not hold yet (minted through another gateway a
// moment ago) is looked up in the database, joins memory when live, and is never brought back by a look-up once a
// reload has seen it revoked.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { REDIS_URL, sleep, testPrefix, until } from '@chrome-plus/testkit';
import { pino } from 'pino';
import { createRedis, type RedisClient } from '../redis/connect.ts';
import { type AccountDirectory, startAccountDirectory } from './account-directory.ts';
import type { AccountStore, Credential } from './account-store.ts';
import { newDeviceToken, tokenHash } from './device-token.ts';

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

let nextId = 1;
function credential(token: string, user: string, extra: Partial<Credential> = {}): Credential {
  const id = nextId++;
  return {
    hash: tokenHash(token),
    tokenId: id,
    userId: id,
    user,
    role: 'user',
    tokensPerDay: null,
    ...extra,
  };
}

/**
 * A database of live credentials: each query reads when it is called (as a statement takes its snapshot) and answers
 * when its gate, if one is set, opens.
 */
function fakeStore() {
  const state = {
    live: [] as Credential[],
    lookups: 0,
    reloadGate: undefined as Promise<void> | undefined,
    lookupGate: undefined as Promise<void> | undefined,
  };
  const store = {
    async credentials() {
      const read = [...state.live];
      await state.reloadGate;
      return read;
    },
    async credentialOf(hash: string) {
      state.lookups++;
      const read = state.live.find((candidate) => candidate.hash === hash);
      await state.lookupGate;
      return read;
    },
    async touch() {},
  } as unknown as AccountStore;
  return { state, store };
}

/** A subscriber that never delivers a notice: this gateway hears of no change but by looking. */
function deafRedis(): RedisClient {
  const client = new EventEmitter() as EventEmitter & Record<string, unknown>;
  client.status = 'ready';
  client.subscribe = async () => 1;
  client.unsubscribe = async () => 1;
  client.publish = async () => 0;
  return client as unknown as RedisClient;
}

async function directoryOver(
  store: AccountStore,
  extra: { staticTokens?: Map<string, string>; maxLookups?: number } = {},
): Promise<AccountDirectory & { reload(): Promise<void> }> {
  const directory = await startAccountDirectory({
    store,
    staticTokens: extra.staticTokens ?? new Map([['bob-token', 'bob']]),
    subscriber: deafRedis(),
    publisher: deafRedis(),
    channel: 'test:accounts',
    refreshMs: 3_600_000,
    logger: pino({ level: 'silent' }),
    ...(extra.maxLookups !== undefined && { maxLookups: extra.maxLookups }),
  });
  // changed() reloads here (and publishes to nobody).
  return Object.assign(directory, { reload: () => directory.changed() });
}

test('tokens in memory, and tokens of another form, are answered at once without the database', async () => {
  const { state, store } = fakeStore();
  const token = newDeviceToken();
  state.live.push(credential(token, 'alice'));
  const directory = await directoryOver(store);
  assert.equal(directory.authenticate('bob-token'), 'bob');
  assert.equal(directory.authenticate(token), 'alice');
  assert.equal(directory.authenticate('not-a-device-token'), undefined);
  assert.equal(directory.authenticate(undefined), undefined);
  assert.equal(directory.authenticate(`${token}x`), undefined);
  assert.equal(state.lookups, 0);
  await directory.close();
});

test('a live device token not in memory is looked up, then answered from memory', async () => {
  const { state, store } = fakeStore();
  const directory = await directoryOver(store);
  const token = newDeviceToken();
  state.live.push(credential(token, 'carol', { tokensPerDay: 500 }));
  const answer = directory.authenticate(token);
  assert.ok(answer instanceof Promise);
  assert.equal(await answer, 'carol');
  assert.equal(directory.authenticate(token), 'carol', 'now from memory');
  assert.equal(directory.deviceTokenHash(token), tokenHash(token));
  assert.equal(directory.isLive(tokenHash(token)), true);
  assert.equal(directory.quotaOf('carol'), 500);
  assert.equal(state.lookups, 1);
  await directory.close();
});

test('an unknown or revoked device token is refused after its look-up, and not kept', async () => {
  const { state, store } = fakeStore();
  const revoked = newDeviceToken();
  state.live.push(credential(revoked, 'dave'));
  const directory = await directoryOver(store);
  state.live = [];
  await directory.reload();
  assert.equal(await directory.authenticate(revoked), undefined);
  assert.equal(await directory.authenticate(newDeviceToken()), undefined);
  assert.equal(directory.isLive(tokenHash(revoked)), false);
  assert.equal(state.lookups, 2);
  await directory.close();
});

test('a look-up overtaken by a reload that saw the token revoked refuses it: no resurrection', async () => {
  const { state, store } = fakeStore();
  const directory = await directoryOver(store);
  const token = newDeviceToken();
  state.live.push(credential(token, 'erin'));
  const slow = gate();
  state.lookupGate = slow.promise;
  const answer = directory.authenticate(token); // reads "live", then waits
  state.lookupGate = undefined;
  state.live = []; // revoked
  await directory.reload(); // a reload began (and ended) while the look-up ran
  slow.open();
  assert.equal(await answer, undefined);
  assert.equal(directory.isLive(tokenHash(token)), false);
  await directory.close();
});

test('a reload that read before a token was found does not drop it; the next reload decides', async () => {
  const { state, store } = fakeStore();
  const directory = await directoryOver(store);
  const reloaded: boolean[] = [];
  const token = newDeviceToken();
  directory.onReload(() => reloaded.push(directory.isLive(tokenHash(token))));
  const slow = gate();
  state.reloadGate = slow.promise;
  const reload = directory.reload(); // reads: no such token yet
  state.reloadGate = undefined;
  state.live.push(credential(token, 'frank'));
  assert.equal(await directory.authenticate(token), 'frank');
  slow.open();
  await reload;
  assert.deepEqual(reloaded, [true], 'its sockets would not be closed');
  assert.equal(directory.authenticate(token), 'frank');
  state.live = [];
  await directory.reload();
  assert.deepEqual(reloaded, [true, false]);
  assert.equal(await directory.authenticate(token), undefined);
  await directory.close();
});

test('look-ups of one token share one query; past the bound at once, unknown tokens are refused', async () => {
  const { state, store } = fakeStore();
  const directory = await directoryOver(store, { maxLookups: 2 });
  const token = newDeviceToken();
  state.live.push(credential(token, 'gina'));
  const slow = gate();
  state.lookupGate = slow.promise;
  const first = directory.authenticate(token);
  const second = directory.authenticate(token);
  const other = directory.authenticate(newDeviceToken());
  const beyond = directory.authenticate(newDeviceToken());
  assert.equal(await beyond, undefined);
  assert.equal(state.lookups, 2);
  slow.open();
  assert.deepEqual(await Promise.all([first, second, other]), ['gina', 'gina', undefined]);
  await directory.close();
});

test('an admin user’s new token is looked up for the admin API too; a user’s is not an administrator', async () => {
  const { state, store } = fakeStore();
  const directory = await directoryOver(store);
  const adminToken = newDeviceToken();
  const userToken = newDeviceToken();
  state.live.push(credential(adminToken, 'hana', { role: 'admin' }), credential(userToken, 'ivan'));
  assert.equal(await directory.administrator(adminToken), 'hana');
  assert.equal(directory.administrator(adminToken), 'hana', 'now from memory');
  assert.equal(await directory.administrator(userToken), undefined);
  assert.equal(directory.administrator('bob-token'), undefined);
  await directory.close();
});

test('with no token of any kind, everyone is local, unless a device token is found', async () => {
  const { state, store } = fakeStore();
  const directory = await directoryOver(store, { staticTokens: new Map() });
  assert.equal(directory.authenticate('anything'), 'local');
  assert.equal(await directory.authenticate(newDeviceToken()), 'local');
  const token = newDeviceToken();
  state.live.push(credential(token, 'jon'));
  assert.equal(await directory.authenticate(token), 'jon');
  assert.equal(directory.authenticate('anything'), undefined, 'a token exists now: no longer open');
  await directory.close();
});

test('a directory started while its subscriber is still connecting hears the change notices', async () => {
  const { store } = fakeStore();
  const channel = `${testPrefix('acctdir')}:accounts`;
  const subscriber = createRedis(REDIS_URL, 'cp-test-accounts-subscriber');
  const publisher = createRedis(REDIS_URL, 'cp-test-accounts-publisher');
  // Connected, not yet ready (ioredis still names the connection, then checks readiness): here a SUBSCRIBE used to
  // slip in, fail the ready check, and leave the reconnected subscriber deaf.
  try {
    await new Promise<void>((resolve) => subscriber.once('connect', () => resolve()));
    const directory = await startAccountDirectory({
      store,
      staticTokens: new Map(),
      subscriber,
      publisher,
      channel,
      refreshMs: 3_600_000,
      logger: pino({ level: 'silent' }),
    });
    try {
      let reloads = 0;
      directory.onReload(() => reloads++);
      await until(() => subscriber.status === 'ready');
      await sleep(300); // whatever reloads a reconnect causes are over
      const before = reloads;
      await publisher.publish(channel, 'changed');
      await until(() => reloads > before, { what: 'the reload a notice causes' });
    } finally {
      await directory.close();
    }
  } finally {
    subscriber.disconnect();
    publisher.disconnect();
  }
});
