// The follower against a real Redis: every event in order, once, however late a watch joins or a message is lost;
// a congested socket pauses and resumes from the log, or is told to go; channels are shared and let go.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanupPrefix, REDIS_URL, testPrefix, until } from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createKeys, requestKey } from '../generations/keys.ts';
import { createGenerationLog, type GenerationLog } from '../generations/log.ts';
import { createFollower, type Follower, parsePublished, type WatchOptions } from './follower.ts';

const prefix = testPrefix('follower');
const keys = createKeys(prefix);
let redis: Redis;
let subscriber: Redis;
let log: GenerationLog;
/** Writes the log like `log` but publishes nowhere: its events' messages are lost. */
let lossy: GenerationLog;
let follower: Follower;
/** A follower whose idle re-read never comes within a test: only a gap can reveal a lost message. */
let patient: Follower;
const delivered: number[] = [];

before(() => {
  redis = new Redis(REDIS_URL);
  subscriber = new Redis(REDIS_URL);
  const logOptions = { redis, retentionMs: 60_000, maxLifetimeMs: 600_000 };
  log = createGenerationLog({ ...logOptions, keys });
  lossy = createGenerationLog({ ...logOptions, keys: { ...keys, events: () => `${prefix}:nowhere` } });
  follower = createFollower({
    subscriber,
    log,
    keys,
    logger: pino({ level: 'silent' }),
    stuckMs: 200,
    idleCheckMs: 200,
    delivered: (at) => delivered.push(at),
  });
  patient = createFollower({
    subscriber,
    log,
    keys,
    logger: pino({ level: 'silent' }),
    idleCheckMs: 600_000,
  });
});

after(async () => {
  await follower.close();
  await patient.close();
  subscriber.disconnect();
  redis.disconnect();
  await cleanupPrefix(prefix);
});

let counter = 0;
async function newRequest() {
  const id = `r${++counter}`;
  const key = requestKey('u', id);
  await log.submit(key, { user: 'u', id, model: 'm' });
  await log.begin(key, 'token');
  return {
    id,
    key,
    delta: (text: string, via = log) => via.append(key, 'token', { type: 'chat.delta', text }),
  };
}

function watcher(
  key: string,
  id: string,
  after: number,
  extra: Partial<WatchOptions> = {},
  through: Follower = follower,
) {
  const frames: { seq: number; [field: string]: unknown }[] = [];
  const state = { ended: false, stuck: false };
  const watch = through.watch({
    key,
    id,
    after,
    send: (frame) => frames.push(JSON.parse(frame)),
    congested: () => false,
    stuck: () => {
      state.stuck = true;
    },
    ended: () => {
      state.ended = true;
    },
    ...extra,
  });
  const seqs = () => frames.map((frame) => frame.seq);
  return { watch, frames, state, seqs };
}

async function subscribers(key: string): Promise<number> {
  const [, count] = (await redis.pubsub('NUMSUB', keys.events(key))) as [string, number];
  return Number(count);
}

test('a late watch gets the log after its seq, then live events, in order, once; the end lets the channel go', async () => {
  const request = await newRequest();
  for (const text of ['a', 'b', 'c']) await request.delta(text);
  const before = follower.watching;
  const { watch, frames, state, seqs } = watcher(request.key, request.id, 1);
  await until(() => seqs().length === 2, { what: 'the replay' });
  await request.delta('d');
  await until(() => seqs().length === 3, { what: 'the live event' });
  assert.equal(watch.last, 4);
  await log.finish(request.key, 'token', { type: 'chat.done', finishReason: 'stop', model: 'm' }, 'u');
  await until(() => state.ended, { what: 'the end' });
  assert.deepEqual(seqs(), [2, 3, 4, 5]);
  assert.deepEqual(frames[0], { id: request.id, seq: 2, type: 'chat.delta', text: 'b' });
  assert.equal(
    frames.some((frame) => 'at' in frame),
    false,
    'live frames are the replay frames, byte for byte',
  );
  assert.ok(delivered.length > 0, 'live deliveries are reported with their append time');
  assert.equal(follower.watching, before);
  await until(async () => (await subscribers(request.key)) === 0, { what: 'the unsubscribe' });
});

test('a lost message is found by the gap the next one reveals', async () => {
  const request = await newRequest();
  const { seqs } = watcher(request.key, request.id, 0, {}, patient);
  await until(async () => (await subscribers(request.key)) === 1, { what: 'the subscription' });
  await request.delta('a');
  await until(() => seqs().length === 1, { what: 'the first event' });
  await request.delta('lost', lossy);
  await request.delta('c');
  await until(() => seqs().length === 3, { what: 'the gap filled' });
  assert.deepEqual(seqs(), [1, 2, 3]);
});

test('a watch that heard nothing for a while reads its log again', async () => {
  const request = await newRequest();
  const { seqs } = watcher(request.key, request.id, 0);
  await until(async () => (await subscribers(request.key)) === 1, { what: 'the subscription' });
  await request.delta('a');
  await until(() => seqs().length === 1, { what: 'the first event' }); // delivered: the watch is live
  await request.delta('lost', lossy);
  await until(() => seqs().length === 2, { what: 'the idle re-read' });
});

test('a congested socket pauses delivery; it resumes from the log once drained', async () => {
  const request = await newRequest();
  let congested = true;
  const slow = watcher(request.key, request.id, 0, { congested: () => congested });
  const fast = watcher(request.key, request.id, 0);
  await until(async () => (await subscribers(request.key)) === 1, { what: 'the subscription' });
  for (const text of ['a', 'b', 'c']) await request.delta(text);
  // Both watches hear each message at once: when the fast one has them all, the slow one has heard them too.
  await until(() => fast.seqs().length === 3, { what: 'the fast watch' });
  assert.deepEqual(slow.seqs(), [1], 'paused after the first event');
  congested = false;
  await until(() => slow.seqs().length === 3, { what: 'the resumption' });
  assert.deepEqual(slow.seqs(), [1, 2, 3]);
  slow.watch.close();
  fast.watch.close();
});

test('a socket congested for too long is told to go, and no longer watches', async () => {
  const request = await newRequest();
  await request.delta('a');
  const before = follower.watching;
  const { state, seqs } = watcher(request.key, request.id, 0, { congested: () => true });
  assert.equal(follower.watching, before + 1);
  await until(() => state.stuck, { what: 'the stuck call' });
  assert.deepEqual(seqs(), [1]);
  assert.equal(follower.watching, before);
});

test('watches of one request share its channel; it is let go when the last one closes', async () => {
  const request = await newRequest();
  const first = watcher(request.key, request.id, 0);
  const second = watcher(request.key, request.id, 0);
  await until(async () => (await subscribers(request.key)) === 1, { what: 'one subscription' });
  first.watch.close();
  await request.delta('a');
  await until(() => second.seqs().length === 1, { what: 'the event on the open watch' });
  assert.deepEqual(first.seqs(), []);
  assert.equal(await subscribers(request.key), 1);
  second.watch.close();
  await until(async () => (await subscribers(request.key)) === 0, { what: 'the unsubscribe' });
});

test('a published event is the stored entry plus its append time, which delivery strips', () => {
  assert.deepEqual(parsePublished('{"seq":3,"type":"chat.delta","text":"a","at":1700000000123}'), {
    entry: '{"seq":3,"type":"chat.delta","text":"a"}',
    seq: 3,
    appendedAt: 1700000000123,
  });
  assert.deepEqual(parsePublished('{"seq":4,"type":"chat.restart"}'), {
    entry: '{"seq":4,"type":"chat.restart"}',
    seq: 4,
    appendedAt: 0,
  });
});
