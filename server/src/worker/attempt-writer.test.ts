// The attempt's pen against a real log: seqs follow on, a refused delta is remembered and stops the attempt, and a
// log that lost its tail (a Redis failover, simulated here by a script that removes it) gets the lost events again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanupPrefix, REDIS_URL, testPrefix } from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { createKeys, requestKey } from '../generations/keys.ts';
import { AppendRefused, createGenerationLog, type GenerationLog } from '../generations/log.ts';
import { AttemptAbandoned } from './attempt-ending.ts';
import type { LossReport } from './attempt-writer.ts';
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

function writerFor(
  key: string,
  id: string,
  seq = 0,
  starts?: number,
  token = `${id}-token`,
  record?: { id: string; model: string },
) {
  const events = { firstDelta: 0, refused: [] as number[], lost: [] as LossReport[] };
  const writer = createAttemptWriter({
    log,
    key,
    user: 'u',
    token,
    seq,
    ...(starts !== undefined && { starts }),
    ...(record !== undefined && { record }),
    coalesce: { maxDelayMs: 0, maxChars: 2048 },
    firstDelta: () => events.firstDelta++,
    refused: (code) => events.refused.push(code),
    lost: (report) => events.lost.push(report),
  });
  return { writer, events };
}

// What a promoted replica that missed the last appends holds: the log's tail gone, the record's seq back to
// `keep` (and, with `starts`, the attempts that began after it gone too). The stream's last id goes back as well.
const loseTail = `
local keep = tonumber(ARGV[1])
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '(0-' .. keep, '+')) do
  redis.call('XDEL', KEYS[2], entry[1])
end
redis.call('XSETID', KEYS[2], '0-' .. keep)
redis.call('HSET', KEYS[1], 'seq', keep)
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'starts', ARGV[2], 'attempt', ARGV[3])
end
return keep
`;

async function lose(key: string, keep: number, begin?: { starts: number; attempt: string }) {
  const keys = createKeys(prefix);
  await redis.eval(
    loseTail,
    2,
    keys.meta(key),
    keys.log(key),
    keep,
    begin?.starts ?? '',
    begin?.attempt ?? '',
  );
}

async function entries(key: string): Promise<string[]> {
  return (await log.read(key, 0)).map((entry) => entry.json);
}

const done = { type: 'chat.done', finishReason: 'stop', model: 'm' } as const;

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

test('a log that lost its tail gets the lost events again, identical and at their seqs, then the new one', async () => {
  const key = await begun('gap');
  const { writer, events } = writerFor(key, 'gap', 0, 1);
  for (const text of ['a', 'b', 'c', 'd', 'e']) {
    writer.push(text, undefined);
    await writer.flush();
  }
  const before = await entries(key);
  assert.equal(before.length, 5);
  await lose(key, 2);
  assert.equal((await entries(key)).length, 2, 'seqs 3 to 5 are gone');
  writer.push('f', undefined);
  await writer.flush();
  assert.equal(await writer.finish({ ...done }), 7);
  assert.deepEqual(await entries(key), [
    ...before,
    '{"seq":6,"type":"chat.delta","text":"f"}',
    '{"seq":7,"type":"chat.done","finishReason":"stop","model":"m"}',
  ]);
  assert.deepEqual(events.lost, [{ logSeq: 2, seq: 6, outcome: 'rewritten' }]);
  assert.equal(writer.refusal, undefined);
});

test('the terminal event finds the gap too, and a cancel requested meanwhile does not stop the repair', async () => {
  const key = await begun('gap-end');
  const { writer } = writerFor(key, 'gap-end', 0, 1);
  assert.equal(await writer.append({ type: 'chat.restart' }), 1);
  writer.push('x', 'r');
  await writer.flush();
  writer.push('y', undefined);
  await writer.flush();
  const before = await entries(key);
  await lose(key, 0);
  assert.equal(await log.requestCancel(key), 'running');
  assert.equal(await writer.finish({ type: 'chat.cancelled' }), 4);
  assert.deepEqual(await entries(key), [...before, '{"seq":4,"type":"chat.cancelled"}']);
});

test('a delta pushed while a cancel ends the attempt: the terminal event waits for the write in flight', async () => {
  const key = await begun('inflight');
  const { writer } = writerFor(key, 'inflight', 0, 1);
  writer.push('a', undefined);
  const flushed = writer.flush();
  await new Promise(setImmediate); // the delta's append is in flight (its reply not back)
  const finished = writer.finish({ type: 'chat.cancelled' });
  await flushed;
  assert.equal(await finished, 2, 'after the delta, not at its seq');
  assert.deepEqual(await entries(key), [
    '{"seq":1,"type":"chat.delta","text":"a"}',
    '{"seq":2,"type":"chat.cancelled"}',
  ]);
});

test('events of an earlier attempt lost: the request ends with a retryable error after every seq a client may hold', async () => {
  const key = await begun('earlier');
  const first = writerFor(key, 'earlier', 0, 1);
  first.writer.push('old', undefined);
  await first.writer.flush();
  first.writer.push('er', undefined);
  await first.writer.flush();
  const second = await log.begin(key, 'second');
  assert.equal(second.kind === 'started' && second.seq, 2);
  const { writer, events } = writerFor(key, 'earlier', 2, 2, 'second');
  assert.equal(await writer.append({ type: 'chat.restart' }), 3);
  writer.push('new', undefined);
  await writer.flush();
  await lose(key, 1);
  writer.push('!', undefined);
  await assert.rejects(writer.flush(), AttemptAbandoned);
  assert.equal(writer.refusal, AppendRefused.terminal, 'the attempt stops: the request ended');
  const log_ = await entries(key);
  assert.deepEqual(log_.slice(0, 5), [
    '{"seq":1,"type":"chat.delta","text":"old"}',
    '{"seq":2,"type":"chat.restart"}',
    '{"seq":3,"type":"chat.restart"}',
    '{"seq":4,"type":"chat.delta","text":"new"}',
    '{"seq":5,"type":"chat.delta","text":"!"}',
  ]);
  const end = JSON.parse(log_[5] ?? '{}');
  assert.equal(end.seq, 6);
  assert.equal(end.type, 'chat.error');
  assert.equal(end.retryable, true);
  assert.match(end.message, /failed over/);
  assert.equal(events.lost[0]?.outcome, 'ended');
  assert.equal((await log.state(key))?.terminal, true);
});

test("the attempt's own begin lost: not taken for another attempt's fence; the request ends after its events", async () => {
  const key = await begun('lost-begin');
  const { writer, events } = writerFor(key, 'lost-begin', 0, 1);
  writer.push('a', undefined);
  await writer.flush();
  writer.push('b', undefined);
  await writer.flush();
  await lose(key, 0, { starts: 0, attempt: '' });
  assert.equal(await writer.finish({ ...done }), 3, 'its own terminal event, after its events written again');
  assert.deepEqual(await entries(key), [
    '{"seq":1,"type":"chat.delta","text":"a"}',
    '{"seq":2,"type":"chat.delta","text":"b"}',
    '{"seq":3,"type":"chat.done","finishReason":"stop","model":"m"}',
  ]);
  assert.equal(events.lost[0]?.outcome, 'ended');

  const other = await begun('lost-begin-delta');
  const next = writerFor(other, 'lost-begin-delta', 0, 1);
  assert.equal(await next.writer.append({ type: 'chat.restart' }), 1);
  await lose(other, 0, { starts: 0, attempt: '' });
  next.writer.push('z', undefined);
  await assert.rejects(next.writer.flush(), AttemptAbandoned);
  const ended = await entries(other);
  assert.deepEqual(ended.slice(0, 2), [
    '{"seq":1,"type":"chat.restart"}',
    '{"seq":2,"type":"chat.delta","text":"z"}',
  ]);
  assert.match(ended[2] ?? '', /^\{"seq":3,"type":"chat.error","code":"internal".*"retryable":true\}$/);
});

test('its begin lost and the job handed out again: the request ends after its events rather than mix two answers', async () => {
  const key = await begun('usurped');
  const { writer, events } = writerFor(key, 'usurped', 0, 1);
  writer.push('a', undefined);
  await writer.flush();
  writer.push('b', undefined);
  await writer.flush();
  await lose(key, 0, { starts: 0, attempt: '' });
  const other = await log.begin(key, 'other');
  assert.equal(other.kind === 'started' && other.starts, 1, 'as many starts as the first attempt had');
  assert.equal(await log.append(key, 'other', { type: 'chat.delta', text: 'X' }, 1), 1);
  writer.push('c', undefined);
  await assert.rejects(writer.flush(), AttemptAbandoned);
  const ended = await entries(key);
  assert.deepEqual(ended.slice(0, 3), [
    '{"seq":1,"type":"chat.delta","text":"X"}',
    '{"seq":2,"type":"chat.delta","text":"b"}',
    '{"seq":3,"type":"chat.delta","text":"c"}',
  ]);
  assert.match(ended[3] ?? '', /^\{"seq":4,"type":"chat.error","code":"internal".*"retryable":true\}$/);
  assert.equal(await log.append(key, 'other', { type: 'chat.delta', text: 'Y' }, 2), AppendRefused.terminal);
  assert.equal(events.lost[0]?.outcome, 'ended');
});

test('a shared terminal body is not marked for later writers', async () => {
  const key = await begun('shared');
  const { writer } = writerFor(key, 'shared', 0, 1);
  const cancelled = { type: 'chat.cancelled' } as const;
  writer.push('a', undefined);
  await writer.flush();
  assert.equal(await writer.finish(cancelled), 2);
  const other = await begun('shared-2');
  assert.equal(await log.finish(other, '', cancelled, 'u'), 1, 'the next seq, not the seq the writer named');
});

test('another attempt that began after this one still fences it out', async () => {
  const key = await begun('fence-starts');
  await log.begin(key, 'newer');
  const { writer, events } = writerFor(key, 'fence-starts', 0, 1);
  assert.equal(await writer.append({ type: 'chat.restart' }), AppendRefused.fenced);
  assert.equal(await writer.finish({ ...done }), AppendRefused.fenced);
  assert.deepEqual(events.lost, []);
  assert.deepEqual(await log.read(key, 0), []);
});

test('a record lost whole (its master killed before a replica had it) is written again with every event, then the answer goes on', async () => {
  const key = await begun('lostrecord');
  const { writer, events } = writerFor(key, 'lostrecord', 0, 1, 'lostrecord-token', {
    id: 'lostrecord',
    model: 'm',
  });
  for (const text of ['a', 'b']) {
    writer.push(text, undefined);
    await writer.flush();
  }
  const before = await entries(key);
  const keys = createKeys(prefix);
  await redis.del(keys.meta(key), keys.log(key));
  writer.push('c', undefined);
  await writer.flush();
  assert.equal(await writer.finish({ ...done }), 4);
  assert.deepEqual(await entries(key), [
    ...before,
    '{"seq":3,"type":"chat.delta","text":"c"}',
    '{"seq":4,"type":"chat.done","finishReason":"stop","model":"m"}',
  ]);
  assert.deepEqual(events.lost, [{ logSeq: 0, seq: 3, outcome: 'rewritten' }]);
  assert.equal((await log.state(key))?.model, 'm');
});
