// One watch's delivery against a log read the test controls: the races the follower's timers and Redis make rare.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '@chrome-plus/testkit';
import { pino } from 'pino';
import type { LogEntry } from '../generations/log.ts';
import { isTerminalEntry, LogWatch, PAGE, type WatchHost } from './log-watch.ts';

const delta = (seq: number): LogEntry => ({
  seq,
  json: `{"seq":${seq},"type":"chat.delta","text":"${seq}"}`,
});
const done = (seq: number): LogEntry => ({
  seq,
  json: `{"seq":${seq},"type":"chat.done","finishReason":"stop"}`,
});

/** A watch whose every log read waits for the test to answer it. */
function harness(after = 0) {
  const reads: { after: number; answer(entries: LogEntry[] | Error): void }[] = [];
  const sent: number[] = [];
  const state = { paused: 0, closed: 0, ended: 0, congested: false };
  const host: WatchHost = {
    read: (_key, readAfter) =>
      new Promise((resolve, reject) => {
        reads.push({
          after: readAfter,
          answer: (entries) => (entries instanceof Error ? reject(entries) : resolve(entries)),
        });
      }),
    now: () => 1_000,
    logger: pino({ level: 'silent' }),
    paused: () => state.paused++,
    resumed: () => {},
    closed: () => state.closed++,
  };
  const watch = new LogWatch(
    {
      key: 'k',
      id: 'req',
      after,
      send: (frame) => sent.push((JSON.parse(frame) as { seq: number }).seq),
      congested: () => state.congested,
      stuck: () => {},
      ended: () => state.ended++,
    },
    'channel',
    host,
  );
  watch.start(Promise.resolve());
  /** Waits for read number `index` (0-based) and returns it. */
  const read = async (index: number) => {
    await until(() => reads.length > index, { what: `read ${index}` });
    return reads[index]!;
  };
  return { watch, sent, state, reads, read };
}

test('an event heard while reading the log makes the watch read again before it goes live', async () => {
  const { watch, sent, read, reads } = harness();
  const first = await read(0);
  watch.heard(2, delta(2).json, 0); // published after the read began: only a second read is sure to see it
  first.answer([delta(1)]);
  const second = await read(1);
  assert.equal(second.after, 1);
  second.answer([delta(2)]);
  await until(() => sent.length === 2, { what: 'the second read delivered' });
  watch.heard(3, delta(3).json, 0);
  assert.deepEqual(sent, [1, 2, 3], 'live now: the next event goes out at once');
  assert.equal(reads.length, 2);
});

test('a full page means there may be more: the log is read again', async () => {
  const { sent, read } = harness();
  (await read(0)).answer(Array.from({ length: PAGE }, (_, index) => delta(index + 1)));
  const next = await read(1);
  assert.equal(next.after, PAGE);
  next.answer([]);
  await until(() => sent.length === PAGE);
});

test('live: a duplicate is ignored, a gap sends the watch back to the log', async () => {
  const { watch, sent, read, reads } = harness(1);
  (await read(0)).answer([delta(2)]);
  await until(() => sent.length === 1, { what: 'the catch-up' }); // delivered in the same turn that goes live
  watch.heard(2, delta(2).json, 0);
  assert.deepEqual(sent, [2]);
  assert.equal(reads.length, 1);
  watch.heard(4, delta(4).json, 0);
  const gap = await read(1);
  assert.equal(gap.after, 2);
  gap.answer([delta(3), delta(4)]);
  await until(() => sent.length === 3);
  assert.deepEqual(sent, [2, 3, 4]);
});

test('a failed read leaves the watch to the idle check, which reads again at once', async () => {
  const healthy = harness();
  (await healthy.read(0)).answer([delta(1)]);
  await until(() => healthy.sent.length === 1);
  healthy.watch.checkIdle(1_000, 500);
  assert.equal(healthy.reads.length, 1, 'active just now: no re-read');

  const failed = harness();
  (await failed.read(0)).answer(new Error('redis down'));
  await until(
    () => {
      failed.watch.checkIdle(1_000, 500);
      return failed.reads.length === 2;
    },
    { what: 'the re-read' },
  );
  assert.equal(failed.reads[1]!.after, 0);
});

test('the terminal event closes the watch and tells it ended; congestion pauses it', async () => {
  const ended = harness();
  (await ended.read(0)).answer([delta(1), done(2), delta(3)]);
  await until(() => ended.state.ended === 1);
  assert.deepEqual(ended.sent, [1, 2]);
  assert.equal(ended.state.closed, 1);

  const slow = harness();
  slow.state.congested = true;
  (await slow.read(0)).answer([delta(1), delta(2)]);
  await until(() => slow.state.paused === 1);
  assert.deepEqual(slow.sent, [1]);
  slow.state.congested = false;
  slow.watch.checkPaused(1_000, 30_000);
  (await slow.read(1)).answer([delta(2)]);
  await until(() => slow.sent.length === 2);
});

test('terminal entries are told apart without parsing', () => {
  assert.equal(isTerminalEntry(done(3).json), true);
  assert.equal(isTerminalEntry('{"seq":4,"type":"chat.error","code":"internal"}'), true);
  assert.equal(isTerminalEntry('{"seq":5,"type":"chat.cancelled"}'), true);
  assert.equal(isTerminalEntry(delta(6).json), false);
  assert.equal(isTerminalEntry('{"seq":7,"type":"chat.delta","text":"\\"type\\":\\"chat.done\\""}'), false);
});
