// The attempt's pen against a real log: seqs follow on, a refused delta is remembered and stops the attempt.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanupPrefix, REDIS_URL, testPrefix } from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { createKeys, requestKey } from '../generations/keys.ts';
import { AppendRefused, createGenerationLog, type GenerationLog } from '../generations/log.ts';
import { AttemptAbandoned } from './attempt-ending.ts';
import { createAttemptWriter } from './attempt-writer.ts';

const prefix = testPrefix('writer');
let redis: Redis;
let log: GenerationLog;

before(() => {
  redis = new Redis(REDIS_URL);
  log = createGenerationLog({ redis, keys: createKeys(prefix), retentionMs: 60_000, maxLifetimeMs: 600_000 });
});

after(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

async function begun(id: string) {
  const key = requestKey('u', id);
  await log.submit(key, { user: 'u', id, model: 'm' });
  const result = await log.begin(key, `${id}-token`);
  assert.equal(result.kind, 'started');
  return key;
}

function writerFor(key: string, id: string, seq = 0) {
  const events = { firstDelta: 0, refused: [] as number[] };
  const writer = createAttemptWriter({
    log,
    key,
    user: 'u',
    token: `${id}-token`,
    seq,
    coalesce: { maxDelayMs: 0, maxChars: 2048 },
    firstDelta: () => events.firstDelta++,
    refused: (code) => events.refused.push(code),
  });
  return { writer, events };
}

test('events follow on in seq; deltas pushed together go out as one; text counts once it is in the log', async () => {
  const key = await begun('seqs');
  const { writer, events } = writerFor(key, 'seqs');
  assert.equal(await writer.append({ type: 'chat.restart' }), 1);
  writer.push('a', undefined);
  writer.push('b', 'r');
  assert.equal(writer.wroteText, false, 'nothing was written yet');
  await writer.flush();
  assert.equal(writer.wroteText, true);
  writer.push('c', undefined);
  await writer.flush();
  assert.equal(await writer.finish({ type: 'chat.done', finishReason: 'stop', model: 'm' }), 4);
  assert.deepEqual(
    (await log.read(key, 0)).map((entry) => entry.json),
    [
      '{"seq":1,"type":"chat.restart"}',
      '{"seq":2,"type":"chat.delta","text":"ab","reasoning":"r"}',
      '{"seq":3,"type":"chat.delta","text":"c"}',
      '{"seq":4,"type":"chat.done","finishReason":"stop","model":"m"}',
    ],
  );
  assert.equal(events.firstDelta, 1);
  assert.equal(writer.refusal, undefined);
});

test('a delta refused (cancel requested) is remembered, told once, and the flush rejects', async () => {
  const key = await begun('refused');
  const { writer, events } = writerFor(key, 'refused');
  await log.requestCancel(key);
  writer.push('x', undefined);
  await assert.rejects(writer.flush(), AttemptAbandoned);
  assert.equal(writer.refusal, AppendRefused.cancelRequested);
  assert.deepEqual(events.refused, [AppendRefused.cancelRequested]);
  assert.equal(writer.wroteText, false);
  assert.equal(events.firstDelta, 0);
});

test('a refused append of a non-delta event is returned, not remembered: the caller decides', async () => {
  const key = await begun('fenced');
  await log.begin(key, 'newer');
  const { writer, events } = writerFor(key, 'fenced');
  assert.equal(await writer.append({ type: 'chat.restart' }), AppendRefused.fenced);
  assert.equal(writer.refusal, undefined);
  assert.deepEqual(events.refused, []);
});

test('discarded deltas are never written', async () => {
  const key = await begun('discard');
  const { writer } = writerFor(key, 'discard');
  writer.push('dropped', undefined);
  writer.discard();
  await writer.flush();
  assert.deepEqual(await log.read(key, 0), []);
});
