// The gateway at its edges: hello and tokens, origins, bad/oversized/binary frames, floods, limits, expiry.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  cleanupPrefix,
  type FakeOpenAI,
  REDIS_URL,
  sleep,
  startFakeOpenAI,
  testPrefix,
  until,
} from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { chromePlusExtensionOrigin } from '../src/gateway/origin.ts';
import { createKeys, requestKey } from '../src/generations/keys.ts';
import { answerOf, chatSend, startTestApp, TestClient, testEnv } from './harness.ts';

describe('gateway edges', () => {
  const prefix = testPrefix('edges');
  let fake: FakeOpenAI;
  let app: Awaited<ReturnType<typeof startTestApp>>;

  before(async () => {
    fake = await startFakeOpenAI();
    app = await startTestApp(
      'all',
      testEnv(prefix, {
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'sk-edge-secret',
        OPENAI_MODEL: 'fake-model',
        AUTH_TOKENS: 'alice:alice-token-1,carol:carol-token-3,dave:dave-token-44',
        MAX_FRAME_BYTES: '4096',
        RETENTION_MS: '1000',
        HELLO_TIMEOUT_MS: '500',
        MAX_FRAMES_PER_SECOND: '20',
      }),
    );
  });

  after(async () => {
    await app.close();
    await fake.close();
    await cleanupPrefix(prefix);
  });

  test('no token, a wrong token, or a frame before hello: unauthorized and close 4401', async () => {
    for (const hello of [
      { type: 'hello' },
      { type: 'hello', token: 'wrong-token' },
      { type: 'ping' },
      '{not json',
    ]) {
      const client = await TestClient.connect(app.url);
      client.send(hello);
      const { code } = await client.closed;
      assert.equal(code, 4401, JSON.stringify(hello));
      assert.deepEqual(
        client.frames.map((frame) => frame.type === 'error' && frame.code),
        ['unauthorized'],
      );
    }
  });

  test('no hello within HELLO_TIMEOUT_MS (here 500 ms): close 4408', async () => {
    const client = await TestClient.connect(app.url);
    const started = Date.now();
    const { code } = await client.closed;
    assert.equal(code, 4408);
    assert.ok(Date.now() - started >= 450);
  });

  test('an upgrade from a disallowed Origin gets 403; the extension and no origin connect', async () => {
    // By default only Chrome Plus's own extension: other extensions and local pages are opt-in.
    for (const origin of [
      'https://evil.example',
      'chrome-extension://abcdefghijklmnopabcdefghijklmnop',
      'http://localhost:3000',
      'http://127.0.0.1:8080',
    ]) {
      await assert.rejects(TestClient.connect(app.url, { origin }), /403/, origin);
    }
    for (const origin of [chromePlusExtensionOrigin, undefined]) {
      const client = await TestClient.connect(app.url, origin === undefined ? {} : { origin });
      client.close();
    }
    await assert.rejects(TestClient.connect(app.url.replace('/v1/ws', '/other')), /404/);
  });

  test('malformed and unknown frames get bad_request; the socket and its neighbours keep working', async () => {
    const client = await TestClient.open(app.url, 'alice-token-1');
    const neighbour = await TestClient.open(app.url, 'carol-token-3');
    const bad = [
      '{oops',
      '[1,2]',
      '"text"',
      '{"type":42}',
      '{"type":"no.such.frame"}',
      '{"type":"chat.send","id":"x","messages":[]}',
      '{"type":"chat.send","id":"x","messages":[{"role":"robot","content":"hi"}]}',
      '{"type":"chat.resume","id":"x","after":"zero"}',
      JSON.stringify({ type: 'chat.send', id: 'x'.repeat(500), messages: [{ role: 'user', content: 'hi' }] }),
      JSON.stringify({ deep: JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`), type: 'ping' }).replace(
        '"type":"ping"',
        '"type":1',
      ),
    ];
    for (const frame of bad) client.send(frame);
    client.send({ type: 'ping', t: 'still-alive' });
    await client.next((frame) => frame.type === 'pong');
    const errors = client.frames.filter((frame) => frame.type === 'error' || frame.type === 'chat.error');
    assert.equal(errors.length, bad.length);
    for (const error of errors) {
      assert.ok(error.type === 'error' || error.type === 'chat.error');
      assert.equal(error.code, 'bad_request');
      assert.ok(error.message.length > 0);
    }
    // A refused chat.send names its id, so the client can tell which request it was.
    assert.ok(errors.some((error) => error.type === 'chat.error' && error.id === 'x'));
    neighbour.send(chatSend('neighbour-1', 'are you fine?'));
    const events = await neighbour.untilEnd('neighbour-1');
    assert.equal(answerOf(events), 'Echo: are you fine?');
    client.close();
    neighbour.close();
  });

  test('an oversized frame closes with 1009; a binary frame with 1003; others are unaffected', async () => {
    const neighbour = await TestClient.open(app.url, 'carol-token-3');
    const big = await TestClient.open(app.url, 'alice-token-1');
    big.send(JSON.stringify(chatSend('big', 'x'.repeat(10_000))));
    assert.equal((await big.closed).code, 1009);
    const binary = await TestClient.open(app.url, 'alice-token-1');
    binary.socket.send(Buffer.from([1, 2, 3]));
    assert.equal((await binary.closed).code, 1003);
    neighbour.send({ type: 'ping', t: 1 });
    await neighbour.next((frame) => frame.type === 'pong');
    neighbour.close();
  });

  test('a frame flood is answered with rate_limited (retryAfterMs) and then a close, not a crash', async () => {
    const flooder = await TestClient.open(app.url, 'dave-token-44');
    const neighbour = await TestClient.open(app.url, 'carol-token-3');
    for (let index = 0; index < 400; index++) flooder.send({ type: 'ping', t: index });
    const limited = await flooder.next((frame) => frame.type === 'error' && frame.code === 'rate_limited');
    assert.ok(limited.type === 'error' && (limited.retryAfterMs ?? 0) > 0);
    assert.equal((await flooder.closed).code, 1008);
    neighbour.send({ type: 'ping', t: 'ok' });
    await neighbour.next((frame) => frame.type === 'pong');
    neighbour.close();
  });

  test('a resume after the log expired answers expired; an id never seen answers not_found', async () => {
    const client = await TestClient.open(app.url, 'alice-token-1');
    client.send(chatSend('expiring', 'short'));
    await client.untilEnd('expiring');
    // RETENTION_MS is 1 s: the log is Redis's to expire.
    const redis = new Redis(REDIS_URL);
    const log = createKeys(prefix).log(requestKey('alice', 'expiring'));
    await until(async () => (await redis.exists(log)) === 0, { what: 'the log to expire', timeoutMs: 5_000 });
    redis.disconnect();
    client.send({ type: 'chat.resume', id: 'expiring', after: 0 });
    const error = await client.next((frame) => frame.type === 'chat.error');
    assert.ok(error.type === 'chat.error');
    assert.equal(error.code, 'expired');
    assert.equal(error.seq, undefined);
    client.close();
  });
});

describe('per-user limits', () => {
  const prefix = testPrefix('limits');
  let fake: FakeOpenAI;
  let app: Awaited<ReturnType<typeof startTestApp>>;

  before(async () => {
    fake = await startFakeOpenAI();
    app = await startTestApp(
      'all',
      testEnv(prefix, {
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'k',
        OPENAI_MODEL: 'fake-model',
        AUTH_TOKENS: 'erin:erin-token-5,frank:frank-token-6',
        RATE_LIMIT_PER_MINUTE: '3',
        MAX_CONCURRENT_GENERATIONS: '2',
      }),
    );
  });

  after(async () => {
    await app.close();
    await fake.close();
    await cleanupPrefix(prefix);
  });

  test('too many concurrent generations and too many a minute get rate_limited; other users are served', async () => {
    // The per-minute count is kept per clock minute: started less than 20 s before the next one, the test's sends
    // could fall into two minutes and the fourth would fit. It waits for the next minute instead.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 40_000) await sleep(60_000 - intoMinute + 50);
    const erin = await TestClient.open(app.url, 'erin-token-5');
    const frank = await TestClient.open(app.url, 'frank-token-6');
    fake.script(() => ({ type: 'answer', pieces: ['slow ', 'answer'], tokenIntervalMs: 300 }));
    erin.send(chatSend('c1', 'one'));
    erin.send(chatSend('c2', 'two'));
    erin.send(chatSend('c3', 'three'));
    const refused = await erin.next((frame) => frame.type === 'chat.error' && frame.id === 'c3');
    assert.ok(refused.type === 'chat.error');
    assert.equal(refused.code, 'rate_limited');
    assert.equal(refused.retryable, true);
    assert.ok((refused.retryAfterMs ?? 0) > 0);
    assert.equal(refused.seq, undefined);
    frank.send(chatSend('f1', 'frank is fine'));
    await frank.next((frame) => frame.type === 'chat.accepted');
    await erin.untilEnd('c1');
    await erin.untilEnd('c2');
    // Two accepted so far this minute; the refused one was not counted. One more fits, the next does not.
    erin.send(chatSend('c4', 'four'));
    await erin.next((frame) => frame.type === 'chat.accepted' && frame.id === 'c4');
    erin.send(chatSend('c5', 'five'));
    const perMinute = await erin.next((frame) => frame.type === 'chat.error' && frame.id === 'c5');
    assert.ok(perMinute.type === 'chat.error');
    assert.equal(perMinute.code, 'rate_limited');
    assert.ok((perMinute.retryAfterMs ?? 0) > 0 && (perMinute.retryAfterMs ?? 0) <= 60_000);
    fake.script(undefined);
    await erin.untilEnd('c4');
    await frank.untilEnd('f1');
    erin.close();
    frank.close();
  });
});
