// The chat path end to end against real Redis and a real SSE model server: stream, resume, repeat, cancel, owners.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChatDoneFrame } from '@chrome-plus/protocol';
import {
  cleanupPrefix,
  type FakeOpenAI,
  startFakeOpenAI,
  startRole,
  testPrefix,
  until,
} from '@chrome-plus/testkit';
import { answerOf, assertWellFormed, chatSend, startTestApp, TestClient, testEnv } from './harness.ts';

const TOKENS = 'alice:alice-token-1,bob:bob-token-22';

describe('chat through gateway, queue and worker', () => {
  const prefix = testPrefix('chat');
  let fake: FakeOpenAI;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let env: Record<string, string>;

  before(async () => {
    fake = await startFakeOpenAI();
    env = testEnv(prefix, {
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-test-secret-key',
      OPENAI_MODEL: 'fake-model,other-model',
      AUTH_TOKENS: TOKENS,
    });
    app = await startTestApp('all', env);
  });

  after(async () => {
    await app.close();
    await fake.close();
    await cleanupPrefix(prefix);
  });

  test('a full chat streams every piece in order and ends with done and usage', async () => {
    const client = await TestClient.open(app.url, 'alice-token-1');
    fake.enqueue({
      type: 'answer',
      pieces: ['Hello', ', ', 'world', '!'],
      tokenIntervalMs: 5,
      usage: { prompt_tokens: 7, completion_tokens: 4 },
    });
    client.send(chatSend('full-1', 'say hello'));
    const accepted = await client.next((frame) => frame.type === 'chat.accepted');
    assert.equal(accepted.type === 'chat.accepted' && accepted.id, 'full-1');
    const events = await client.untilEnd('full-1');
    assertWellFormed(events);
    assert.equal(answerOf(events), 'Hello, world!');
    const done = events.at(-1) as ChatDoneFrame;
    assert.equal(done.type, 'chat.done');
    assert.equal(done.finishReason, 'stop');
    assert.equal(done.model, 'fake-model');
    assert.deepEqual(done.usage, { promptTokens: 7, completionTokens: 4 });
    const request = fake.requests.at(-1)!;
    assert.equal(request.body?.stream, true);
    assert.deepEqual(request.body?.stream_options, { include_usage: true });
    assert.deepEqual(request.body?.messages, [{ role: 'user', content: 'say hello' }]);
    assert.equal(request.headers.authorization, 'Bearer sk-test-secret-key');
    client.close();
  });

  test('models.list names the configured models and the default; ping echoes t', async () => {
    const client = await TestClient.open(app.url, 'alice-token-1');
    client.send({ type: 'models.list' });
    const models = await client.next((frame) => frame.type === 'models');
    assert.ok(models.type === 'models');
    assert.deepEqual(
      models.models.map((model) => [model.id, model.provider]),
      [
        ['fake-model', 'openai'],
        ['other-model', 'openai'],
      ],
    );
    assert.equal(models.default, 'fake-model');
    client.send({ type: 'ping', t: { n: 42 } });
    const pong = await client.next((frame) => frame.type === 'pong');
    assert.deepEqual(pong, { type: 'pong', t: { n: 42 } });
    client.close();
  });

  test('an unknown model is refused before anything is queued', async () => {
    const client = await TestClient.open(app.url, 'alice-token-1');
    const before = fake.requests.length;
    client.send(chatSend('nomodel-1', 'hi', { model: 'no-such-model' }));
    const refusal = await client.next((frame) => frame.type === 'chat.error');
    assert.ok(refusal.type === 'chat.error');
    assert.equal(refusal.code, 'model_not_found');
    assert.equal(refusal.seq, undefined);
    assert.equal(fake.requests.length, before);
    client.close();
  });

  test('resume at any `after` on a second gateway process replays exactly the missing events, then live ones', async () => {
    const gatewayB = await startRole('gateway', { ...env, LOG_LEVEL: 'info' });
    try {
      const pieces = Array.from({ length: 30 }, (_, index) => `p${index} `);
      fake.enqueue({ type: 'answer', pieces, tokenIntervalMs: 20 });
      const first = await TestClient.open(app.url, 'alice-token-1');
      first.send(chatSend('resume-1', 'long answer'));
      // Let part of the answer arrive on gateway A, then drop that socket.
      await first.next((frame) => frame.type === 'chat.delta' && frame.seq >= 3);
      const seen = first.events('resume-1');
      const afterSeq = 2;
      first.close();

      const second = await TestClient.open(gatewayB.url, 'alice-token-1');
      second.send({ type: 'chat.resume', id: 'resume-1', after: afterSeq });
      const rest = await second.untilEnd('resume-1');
      assertWellFormed(rest, afterSeq + 1);
      const whole = [...seen.slice(0, afterSeq), ...rest];
      assertWellFormed(whole);
      assert.equal(answerOf(whole), pieces.join(''));

      // A resume past the end replays nothing but the end is already there: after the terminal seq, nothing.
      const third = await TestClient.open(gatewayB.url, 'alice-token-1');
      const lastSeq = (rest.at(-1) as { seq: number }).seq;
      third.send({ type: 'chat.resume', id: 'resume-1', after: lastSeq });
      // ...and from 0 it replays the whole answer. The two resumes are answered in order: anything the first
      // had sent would be among these events, which must be the answer once, from seq 1 to one terminal.
      third.send({ type: 'chat.resume', id: 'resume-1', after: 0 });
      const replay = await third.untilEnd('resume-1');
      assertWellFormed(replay);
      assert.equal(answerOf(replay), pieces.join(''));
      second.close();
      third.close();
    } finally {
      await gatewayB.kill();
    }
  });

  test('a repeated chat.send starts nothing new: accepted again, replay from seq 1', async () => {
    const client = await TestClient.open(app.url, 'alice-token-1');
    fake.enqueue({ type: 'answer', pieces: ['one ', 'answer'], tokenIntervalMs: 5 });
    client.send(chatSend('repeat-1', 'first'));
    const events = await client.untilEnd('repeat-1');
    const requestsBefore = fake.requests.length;

    const again = await TestClient.open(app.url, 'alice-token-1');
    again.send(chatSend('repeat-1', 'second, ignored'));
    await again.next((frame) => frame.type === 'chat.accepted');
    const replay = await again.untilEnd('repeat-1');
    assert.deepEqual(replay, events);
    assert.equal(answerOf(replay), 'one answer');
    assert.equal(fake.requests.length, requestsBefore, 'a repeated send must not call the model again');
    client.close();
    again.close();
  });

  test('two users may use the same id without meeting; nobody sees or cancels another user`s request', async () => {
    const alice = await TestClient.open(app.url, 'alice-token-1');
    const bob = await TestClient.open(app.url, 'bob-token-22');
    fake.enqueue({ type: 'answer', pieces: ['alice ', 'text'], tokenIntervalMs: 30 });
    alice.send(chatSend('shared-id', 'from alice'));
    await alice.next((frame) => frame.type === 'chat.accepted');
    bob.send({ type: 'chat.resume', id: 'shared-id', after: 0 });
    const notFound = await bob.next((frame) => frame.type === 'chat.error');
    assert.ok(notFound.type === 'chat.error');
    assert.equal(notFound.code, 'not_found');
    bob.send({ type: 'chat.cancel', id: 'shared-id' });
    const second = await bob.next(
      (frame) => frame.type === 'chat.error',
      10_000,
      bob.frames.indexOf(notFound) + 1,
    );
    assert.ok(second.type === 'chat.error');
    assert.equal(second.code, 'not_found');
    const aliceEvents = await alice.untilEnd('shared-id');
    assert.equal(aliceEvents.at(-1)?.type, 'chat.done', 'bob`s cancel must not touch alice`s request');
    assert.equal(answerOf(aliceEvents), 'alice text');

    fake.enqueue({ type: 'answer', pieces: ['bob ', 'text'] });
    bob.send(chatSend('shared-id', 'from bob'));
    const bobEvents = await bob.untilEnd('shared-id');
    assert.equal(answerOf(bobEvents), 'bob text');
    alice.close();
    bob.close();
  });

  test('cancel while streaming aborts the model call and ends with chat.cancelled', async () => {
    const client = await TestClient.open(app.url, 'alice-token-1');
    fake.enqueue({ type: 'answer', tokens: 500, tokenIntervalMs: 20 });
    client.send(chatSend('cancel-run', 'go on and on'));
    await client.next((frame) => frame.type === 'chat.delta');
    const request = fake.requests.at(-1)!;
    client.send({ type: 'chat.cancel', id: 'cancel-run' });
    const events = await client.untilEnd('cancel-run');
    assertWellFormed(events);
    assert.equal(events.at(-1)?.type, 'chat.cancelled');
    const closed = await request.closed;
    assert.equal(closed.early, true, 'the HTTP request to the model must be aborted');
    client.close();
  });

  test('a socket that closes never cancels: the answer completes and a resume delivers it', async () => {
    const client = await TestClient.open(app.url, 'alice-token-1');
    fake.enqueue({ type: 'answer', pieces: ['still ', 'here ', 'after ', 'close'], tokenIntervalMs: 40 });
    const requestsBefore = fake.requests.length;
    client.send(chatSend('closed-socket', 'hi'));
    await client.next((frame) => frame.type === 'chat.accepted');
    client.close();
    // Awaited, not slept: the model call runs to its end with no socket open (a cancel would end it early).
    await until(() => fake.requests.length > requestsBefore, { what: 'the model call' });
    const call = await fake.requests.at(-1)!.closed;
    assert.equal(call.early, false, 'the model call was cut when the socket closed');
    const later = await TestClient.open(app.url, 'alice-token-1');
    later.send({ type: 'chat.resume', id: 'closed-socket', after: 0 });
    const events = await later.untilEnd('closed-socket');
    assertWellFormed(events);
    assert.equal(answerOf(events), 'still here after close');
    later.close();
  });

  test('a resume of an unknown id answers not_found', async () => {
    const client = await TestClient.open(app.url, 'alice-token-1');
    client.send({ type: 'chat.resume', id: 'never-sent', after: 0 });
    const error = await client.next((frame) => frame.type === 'chat.error');
    assert.ok(error.type === 'chat.error');
    assert.equal(error.code, 'not_found');
    assert.equal(error.seq, undefined);
    client.close();
  });
});

describe('cancel while queued', () => {
  const prefix = testPrefix('cancelq');
  let fake: FakeOpenAI;

  after(async () => {
    await fake.close();
    await cleanupPrefix(prefix);
  });

  test('a queued request that is cancelled never reaches the model', async () => {
    fake = await startFakeOpenAI();
    const env = testEnv(prefix, {
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'k',
      OPENAI_MODEL: 'fake-model',
    });
    // Only a gateway: no worker takes the job while we cancel it.
    const gateway = await startTestApp('gateway', env);
    const client = await TestClient.open(gateway.url);
    client.send(chatSend('queued-1', 'wait for me'));
    await client.next((frame) => frame.type === 'chat.accepted');
    client.send({ type: 'chat.cancel', id: 'queued-1' });
    const events = await client.untilEnd('queued-1');
    assertWellFormed(events);
    assert.equal(events.at(-1)?.type, 'chat.cancelled');
    // A worker that starts now finds nothing to do: the queue is first in, first out, so by the time it
    // answers the next request it has passed the cancelled one without calling the model for it.
    const worker = await startTestApp('worker', env);
    client.send(chatSend('after-queued-1', 'and me'));
    assert.equal((await client.untilEnd('after-queued-1')).at(-1)?.type, 'chat.done');
    assert.equal(fake.requests.length, 1, 'the model was called for the next request only');
    client.close();
    await worker.close();
    await gateway.close();
  });
});
