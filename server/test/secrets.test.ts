// Secrets stay on the server: model API keys and user tokens appear in no frame and no log line, even at debug level.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cleanupPrefix, type FakeOpenAI, startFakeOpenAI, startRole, testPrefix } from '@chrome-plus/testkit';
import { chatSend, TestClient, testEnv } from './harness.ts';

const prefix = testPrefix('secrets');
let fake: FakeOpenAI;

after(async () => {
  await fake.close();
  await cleanupPrefix(prefix);
});

test('keys and tokens never reach logs or frames', async () => {
  const apiKey = 'sk-never-log-this-0123456789';
  const userToken = 'user-token-never-logged-42';
  fake = await startFakeOpenAI({ apiKey: 'a-different-key' }); // every call is refused with a 401 that quotes the key
  const server = await startRole(
    'all',
    testEnv(prefix, {
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: apiKey,
      OPENAI_MODEL: 'fake-model',
      AUTH_TOKENS: `zoe:${userToken}`,
    }),
  );
  try {
    const client = await TestClient.open(server.url, userToken);
    client.send(chatSend('secret-1', 'hello'));
    const events = await client.untilEnd('secret-1');
    assert.equal(events.at(-1)?.type, 'chat.error');
    const intruder = await TestClient.connect(server.url);
    intruder.send({ type: 'hello', token: `${userToken}-wrong` });
    await intruder.closed;
    client.close();
    await server.kill('SIGTERM');
    const output = server.output();
    assert.ok(output.includes('gateway listening'), 'the log was captured');
    assert.ok(
      fake.requests.some((request) => request.headers.authorization === `Bearer ${apiKey}`),
      'the key was used',
    );
    for (const secret of [apiKey, userToken]) {
      assert.ok(!output.includes(secret), `a log line contains ${secret}`);
      assert.ok(!JSON.stringify(client.frames).includes(secret), `a frame contains ${secret}`);
    }
  } finally {
    await server.kill('SIGKILL');
  }
});
