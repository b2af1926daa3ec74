import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultDeviceName, fetchMyUsage, signIn, usageShare } from './account-client.ts';

function recordingFetch(status: number, body: string, calls: { url: string; init: RequestInit }[]) {
  return (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(body, { status });
  }) as unknown as typeof fetch;
}

test('sign-in posts to the gateway of the socket URL and reads the minted token', async () => {
  const calls: { url: string; init: RequestInit }[] = [];
  const result = await signIn({
    serverUrl: 'wss://chat.example.com/v1/ws',
    name: 'alice',
    password: 'correct horse',
    device: 'Chrome on Linux',
    fetch: recordingFetch(201, '{"user":"alice","device":"Chrome on Linux","token":"cpd_abc"}', calls),
  });
  assert.deepEqual(result, {
    ok: true,
    value: { user: 'alice', device: 'Chrome on Linux', token: 'cpd_abc' },
  });
  assert.equal(calls[0]?.url, 'https://chat.example.com/v1/auth/sign-in');
  assert.equal(calls[0]?.init.method, 'POST');
  assert.deepEqual(JSON.parse(String(calls[0]?.init.body)), {
    name: 'alice',
    password: 'correct horse',
    device: 'Chrome on Linux',
  });
});

test('a refusal keeps its status and code; a network failure is status 0', async () => {
  const refused = await signIn({
    serverUrl: 'ws://127.0.0.1:8787/v1/ws',
    name: 'alice',
    password: 'wrong',
    device: 'x',
    fetch: recordingFetch(401, '{"error":"unauthorized","message":"wrong user name or password"}', []),
  });
  assert.deepEqual(refused, {
    ok: false,
    status: 401,
    code: 'unauthorized',
    message: 'wrong user name or password',
  });
  const unreachable = await fetchMyUsage({
    serverUrl: 'ws://127.0.0.1:9/v1/ws',
    token: '',
    fetch: (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch,
  });
  assert.equal(unreachable.ok === false && unreachable.status, 0);
});

test('usage is read with the bearer token; the share of the budget is capped at 1', async () => {
  const calls: { url: string; init: RequestInit }[] = [];
  const body = {
    user: 'alice',
    day: '2026-12-02',
    requests: 3,
    promptTokens: 12_000,
    completionTokens: 345,
    tokens: 12_345,
    estimatedTokens: 0,
    tokensPerDay: 50_000,
    resetsAt: '2026-12-03T00:00:00.000Z',
  };
  const result = await fetchMyUsage({
    serverUrl: 'ws://127.0.0.1:8787/v1/ws',
    token: 'cpd_abc',
    fetch: recordingFetch(200, JSON.stringify(body), calls),
  });
  assert.deepEqual(result, { ok: true, value: body });
  assert.equal(calls[0]?.url, 'http://127.0.0.1:8787/v1/me/usage');
  assert.deepEqual(calls[0]?.init.headers, { authorization: 'Bearer cpd_abc' });
  assert.equal(usageShare(body), 0.2469);
  assert.equal(usageShare({ tokens: 60_000, tokensPerDay: 50_000 }), 1);
  assert.equal(usageShare({ tokens: 10, tokensPerDay: null }), undefined);
});

test('the default device name has only the characters a device name may have', () => {
  assert.equal(defaultDeviceName('Linux'), 'Chrome on Linux');
  assert.equal(defaultDeviceName('macOS'), 'Chrome on macOS');
  assert.equal(defaultDeviceName('Chrome OS (x86)'), 'Chrome on Chrome OS x86');
  assert.equal(defaultDeviceName(undefined), 'Chrome');
  assert.equal(defaultDeviceName('   '), 'Chrome');
});
