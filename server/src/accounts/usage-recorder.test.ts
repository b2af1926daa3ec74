// Usage is recorded once per request, by the attempt that wrote its terminal event: the provider's counts, or a
// tokenizer's count marked as estimated; nothing for an attempt that wrote no terminal event.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { GenerationLog } from '../generations/log.ts';
import type { ChatJob } from '../jobs.ts';
import type { UsageRecord } from './account-store.ts';
import { createUsageRecorder } from './usage-recorder.ts';

const job: ChatJob = {
  key: 'k1',
  user: 'alice',
  id: 'r1',
  model: 'fake-model',
  // 10 tokens in o200k_base, and 3 for the message's framing and 3 for the answer's start.
  messages: [{ role: 'user', content: 'The quick brown fox jumps over the lazy dog.' }],
};

function fixture(accepted = true) {
  const records: UsageRecord[] = [];
  let clock = 1_000;
  const recorder = createUsageRecorder({
    store: { recordUsage: async (record) => void records.push(record) },
    logger: pino({ level: 'silent' }),
    now: () => clock,
  });
  // Only the two methods the recorder watches; a refused append or finish answers a negative number.
  const log = {
    append: async () => (accepted ? 1 : -2),
    finish: async () => (accepted ? 2 : -1),
  } as unknown as GenerationLog;
  const tracking = recorder.track(job, log);
  return { records, tracking, advance: (ms: number) => (clock += ms) };
}

test("a finished answer records the provider's counts and the duration", async () => {
  const { records, tracking, advance } = fixture();
  await tracking.log.append('k1', 't', { type: 'chat.delta', text: 'hello' }, 1);
  advance(250);
  await tracking.log.finish(
    'k1',
    't',
    {
      type: 'chat.done',
      finishReason: 'stop',
      model: 'fake-model',
      usage: { promptTokens: 7, completionTokens: 4 },
    },
    'alice',
  );
  await tracking.settle();
  assert.deepEqual(records, [
    {
      requestKey: 'k1',
      user: 'alice',
      model: 'fake-model',
      outcome: 'done',
      promptTokens: 7,
      completionTokens: 4,
      estimated: false,
      durationMs: 250,
    },
  ]);
});

test('a cancelled answer without usage is counted with the tokenizer from what was written', async () => {
  const { records, tracking } = fixture();
  await tracking.log.append('k1', 't', { type: 'chat.delta', reasoning: 'Greeting: ' }, 1);
  await tracking.log.append('k1', 't', { type: 'chat.delta', text: 'Hello, world!' }, 2);
  await tracking.log.finish('k1', 't', { type: 'chat.cancelled' }, 'alice');
  await tracking.settle();
  assert.equal(records[0]?.outcome, 'cancelled');
  assert.equal(records[0]?.estimated, true);
  assert.equal(records[0]?.promptTokens, 16);
  // "Greeting: Hello, world!": Greeting, :, Hello, ",", world, !
  assert.equal(records[0]?.completionTokens, 6);
});

test('a finished answer whose provider gave no usage is counted too, marked as estimated', async () => {
  const { records, tracking } = fixture();
  await tracking.log.append('k1', 't', { type: 'chat.delta', text: 'Bonjour, comment ça va ?' }, 1);
  await tracking.log.finish(
    'k1',
    't',
    { type: 'chat.done', finishReason: 'stop', model: 'fake-model' },
    'alice',
  );
  await tracking.settle();
  assert.equal(records[0]?.outcome, 'done');
  assert.equal(records[0]?.estimated, true);
  assert.equal(records[0]?.promptTokens, 16);
  assert.equal(records[0]?.completionTokens, 6);
});

test('a failure before any text charges nothing; an attempt whose terminal was refused records nothing', async () => {
  const failed = fixture();
  await failed.tracking.log.finish(
    'k1',
    't',
    { type: 'chat.error', code: 'provider_error', message: 'down', retryable: true },
    'alice',
  );
  await failed.tracking.settle();
  assert.equal(failed.records[0]?.promptTokens, 0);
  assert.equal(failed.records[0]?.completionTokens, 0);

  const fenced = fixture(false);
  await fenced.tracking.log.finish('k1', 't', { type: 'chat.cancelled' }, 'alice');
  await fenced.tracking.settle();
  assert.deepEqual(fenced.records, []);
});
