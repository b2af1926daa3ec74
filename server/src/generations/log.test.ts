import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanupPrefix, REDIS_URL, testPrefix } from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { createKeys, requestKey } from './keys.ts';
import { AppendRefused, createGenerationLog, errorBody, finishingAt, gapAt, seqOf, toFrame } from './log.ts';

const prefix = testPrefix('log');
const keys = createKeys(prefix);
let redis: Redis;
let log: ReturnType<typeof createGenerationLog>;

before(() => {
  redis = new Redis(REDIS_URL);
  log = createGenerationLog({ redis, keys, retentionMs: 60_000, recordMs: 120_000, maxLifetimeMs: 600_000 });
});

after(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

test('request keys are per user and safe whatever the id', () => {
  assert.notEqual(requestKey('alice', 'x'), requestKey('bob', 'x'));
  assert.notEqual(requestKey('a', 'b\nc'), requestKey('a\nb', 'c'));
  assert.match(requestKey('u', 'any:id/with{braces}'), /^[A-Za-z0-9_-]{24}$/);
});

test('a claim is taken once; the second submit sees the first', async () => {
  const key = requestKey('u', 'claim');
  assert.deepEqual(await log.submit(key, { user: 'u', id: 'claim', model: 'm' }), { created: true });
  const second = await log.submit(key, { user: 'u', id: 'claim', model: 'other' });
  assert.equal(second.created, false);
  assert.equal((await log.state(key))?.model, 'm');
});

test('seq rises by one per event; nothing follows the terminal event', async () => {
  const key = requestKey('u', 'seq');
  await log.submit(key, { user: 'u', id: 'seq', model: 'm' });
  const begun = await log.begin(key, 'token-a');
  assert.deepEqual(begun, { kind: 'started', cancelRequested: false, seq: 0, starts: 1, interrupted: 0 });
  assert.equal(await log.append(key, 'token-a', { type: 'chat.delta', text: 'a' }), 1);
  assert.equal(await log.append(key, 'token-a', { type: 'chat.delta', text: 'b' }), 2);
  assert.equal(
    await log.finish(key, 'token-a', { type: 'chat.done', finishReason: 'stop', model: 'm' }, 'u'),
    3,
  );
  assert.equal(await log.finish(key, '', errorBody('internal', 'late', true), 'u'), AppendRefused.terminal);
  assert.equal(await log.append(key, 'token-a', { type: 'chat.delta', text: 'c' }), AppendRefused.terminal);
  const entries = await log.read(key, 1);
  assert.deepEqual(
    entries.map((entry) => entry.seq),
    [2, 3],
  );
  assert.equal(toFrame(entries[0]!.json, '"req-1"'), '{"id":"req-1","seq":2,"type":"chat.delta","text":"b"}');
  assert.equal(seqOf(entries[1]!.json), 3);
  assert.deepEqual(await log.begin(key, 'token-b'), { kind: 'terminal' });
});

test('a zombie (an attempt that was replaced) cannot write', async () => {
  const key = requestKey('u', 'fence');
  await log.submit(key, { user: 'u', id: 'fence', model: 'm' });
  await log.begin(key, 'old');
  assert.equal(await log.append(key, 'old', { type: 'chat.delta', text: 'x' }), 1);
  const second = await log.begin(key, 'new');
  assert.deepEqual(second, { kind: 'started', cancelRequested: false, seq: 1, starts: 2, interrupted: 1 });
  assert.equal(await log.append(key, 'old', { type: 'chat.delta', text: 'zombie' }), AppendRefused.fenced);
  assert.equal(await log.finish(key, 'old', { type: 'chat.cancelled' }, 'u'), AppendRefused.fenced);
  assert.equal(await log.append(key, 'new', { type: 'chat.restart' }), 2);
});

test('an append sent again (its reply lost in a reconnect) is written once', async () => {
  const key = requestKey('u', 'resent');
  await log.submit(key, { user: 'u', id: 'resent', model: 'm' });
  await log.begin(key, 't');
  assert.equal(await log.append(key, 't', { type: 'chat.delta', text: 'a' }, 1), 1);
  assert.equal(
    await log.append(key, 't', { type: 'chat.delta', text: 'a' }, 1),
    1,
    'the same seq, not a second event',
  );
  assert.equal(await log.append(key, 't', { type: 'chat.delta', text: 'b' }, 2), 2);
  assert.deepEqual(
    (await log.read(key, 0)).map((entry) => entry.json),
    ['{"seq":1,"type":"chat.delta","text":"a"}', '{"seq":2,"type":"chat.delta","text":"b"}'],
  );
  assert.equal(await log.append(key, 'other', { type: 'chat.delta', text: 'z' }, 2), AppendRefused.fenced);
});

test("an append beyond the next seq (a log that lost its tail) is refused with the log's seq; nothing is written", async () => {
  const key = requestKey('u', 'gap');
  await log.submit(key, { user: 'u', id: 'gap', model: 'm' });
  await log.begin(key, 't');
  assert.equal(gapAt(AppendRefused.terminal), undefined);
  assert.equal(await log.append(key, 't', { type: 'chat.delta', text: 'a' }, 1), 1);
  const refused = await log.append(key, 't', { type: 'chat.delta', text: 'd' }, 4);
  assert.equal(gapAt(refused), 1, `the log ends at 1 (got ${refused})`);
  const done = { type: 'chat.done', finishReason: 'stop', model: 'm' } as const;
  assert.equal(
    gapAt(await log.finish(key, 't', finishingAt({ ...done }, 3), 'u')),
    1,
    'a named terminal too',
  );
  assert.equal(await log.requestCancel(key), 'running');
  assert.equal(
    await log.rewrite(key, 't', { type: 'chat.delta', text: 'b' }, 2),
    2,
    'an event written again is not refused by a cancel',
  );
  assert.equal(
    await log.append(key, 't', { type: 'chat.delta', text: 'c' }, 3),
    AppendRefused.cancelRequested,
  );
  assert.equal(await log.finish(key, 't', finishingAt({ type: 'chat.cancelled' }, 3), 'u'), 3);
  assert.deepEqual(
    (await log.read(key, 0)).map((entry) => entry.seq),
    [1, 2, 3],
  );
  assert.deepEqual(await log.attempts(key), { seq: 3, starts: 1 });
});

test('a terminal event named for a seq already taken goes after it (by its flag it is written once)', async () => {
  const key = requestKey('u', 'taken');
  await log.submit(key, { user: 'u', id: 'taken', model: 'm' });
  await log.begin(key, 't');
  // The writer never heard that this append was written (it failed, its reply lost), so it names seq 1 again.
  assert.equal(await log.append(key, 't', { type: 'chat.delta', text: 'a' }, 1), 1);
  const failed = errorBody('internal', 'x', true);
  assert.equal(await log.finish(key, 't', finishingAt(failed, 1), 'u'), 2);
  assert.equal(await log.finish(key, 't', finishingAt({ ...failed }, 2), 'u'), AppendRefused.terminal);
  assert.deepEqual(
    (await log.read(key, 0)).map((entry) => entry.seq),
    [1, 2],
  );
});

test('a start handed back on shutdown is no crash; only the attempt that owns the request may say so', async () => {
  const key = requestKey('u', 'handback');
  await log.submit(key, { user: 'u', id: 'handback', model: 'm' });
  await log.begin(key, 'first');
  assert.equal(await log.handBack(key, 'first'), true);
  const second = await log.begin(key, 'second');
  assert.equal(second.kind === 'started' && second.interrupted, 0, 'the first start was handed back');
  assert.equal(await log.handBack(key, 'first'), false, 'a replaced attempt cannot');
  const third = await log.begin(key, 'third');
  assert.equal(third.kind === 'started' && third.interrupted, 1, 'the second start crashed');
});

test('a cancel request stops the writer at its next append; the terminal event may still be written', async () => {
  const key = requestKey('u', 'cancel');
  await log.submit(key, { user: 'u', id: 'cancel', model: 'm' });
  await log.begin(key, 't');
  assert.equal(await log.requestCancel(key), 'running');
  assert.equal(await log.append(key, 't', { type: 'chat.delta', text: 'x' }), AppendRefused.cancelRequested);
  assert.equal(await log.finish(key, 't', { type: 'chat.cancelled' }, 'u'), 1);
  assert.equal(await log.requestCancel(key), 'terminal');
  assert.equal(await log.requestCancel(requestKey('u', 'never')), 'missing');
});

test('appends to an unknown request are refused; the log expires after the end, the record later', async () => {
  assert.equal(
    await log.append(requestKey('u', 'ghost'), 't', { type: 'chat.delta', text: 'x' }),
    AppendRefused.missing,
  );
  const key = requestKey('u', 'ttl');
  await log.submit(key, { user: 'u', id: 'ttl', model: 'm' });
  await log.begin(key, 't');
  await log.finish(key, 't', { type: 'chat.done', finishReason: 'stop', model: 'm' }, 'u');
  const [logTtl, metaTtl] = await Promise.all([redis.pttl(keys.log(key)), redis.pttl(keys.meta(key))]);
  assert.ok(logTtl > 0 && logTtl <= 60_000, `log ttl ${logTtl}`);
  assert.ok(metaTtl > logTtl, 'the record outlives the log, so a late resume is told "expired"');
  assert.ok(metaTtl > 120_000 && metaTtl <= 180_000, `record ttl ${metaTtl}: retention + recordMs`);
});

test("a request's slot among its user's answers is free before its end is published; a fenced writer keeps it", async () => {
  const listener = new Redis(REDIS_URL);
  const checker = new Redis(REDIS_URL);
  try {
    for (let index = 0; index < 10; index++) {
      const key = requestKey('slots', `end-${index}`);
      await log.submit(key, { user: 'slots', id: `end-${index}`, model: 'm' });
      await log.begin(key, 'token-a');
      await redis.zadd(keys.inflight('slots'), Date.now() + 60_000, key);
      await listener.subscribe(keys.events(key));
      // Asked the moment the end is heard, as a client sending its next request would be admitted.
      const heard = new Promise<string | null>((resolve) =>
        listener.once('message', () => void checker.zscore(keys.inflight('slots'), key).then(resolve)),
      );
      await log.finish(key, 'token-a', { type: 'chat.done', finishReason: 'stop', model: 'm' }, 'slots');
      assert.equal(await heard, null, `slot ${index} was still held when the end was published`);
      await listener.unsubscribe(keys.events(key));
    }
    const fenced = requestKey('slots', 'fenced');
    await log.submit(fenced, { user: 'slots', id: 'fenced', model: 'm' });
    await log.begin(fenced, 'token-new');
    await redis.zadd(keys.inflight('slots'), 12345, fenced);
    const refused = await log.finish(fenced, 'token-old', errorBody('internal', 'zombie', true), 'slots');
    assert.equal(refused, AppendRefused.fenced);
    assert.equal(
      await redis.zscore(keys.inflight('slots'), fenced),
      '12345',
      'the running attempt keeps its slot',
    );
  } finally {
    listener.disconnect();
    checker.disconnect();
  }
});
