// /metrics tells who uses the server and how much: behind METRICS_TOKEN once the server has tokens at all.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cleanupPrefix, testPrefix } from '@chrome-plus/testkit';
import { startTestApp, testEnv } from './harness.ts';

const prefix = testPrefix('metrics');
after(() => cleanupPrefix(prefix));

async function metricsStatus(env: Record<string, string>, authorization?: string): Promise<number[]> {
  const app = await startTestApp('gateway', testEnv(prefix, env));
  try {
    const url = `http://127.0.0.1:${app.gateway!.port}/metrics`;
    const statuses = [];
    for (const header of [undefined, 'Bearer wrong-token-wrong-token', authorization]) {
      const response = await fetch(url, header === undefined ? {} : { headers: { authorization: header } });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    return statuses;
  } finally {
    await app.close();
  }
}

test('without AUTH_TOKENS (loopback only), /metrics is open', async () => {
  assert.deepEqual(await metricsStatus({}), [200, 200, 200]);
});

test('with AUTH_TOKENS and no METRICS_TOKEN, /metrics is refused', async () => {
  assert.deepEqual(await metricsStatus({ AUTH_TOKENS: 'ann:ann-token-123' }), [403, 403, 403]);
});

test('with METRICS_TOKEN, only its bearer reads /metrics', async () => {
  const token = 'metrics-token-0123456789';
  assert.deepEqual(
    await metricsStatus({ AUTH_TOKENS: 'ann:ann-token-123', METRICS_TOKEN: token }, `Bearer ${token}`),
    [401, 401, 200],
  );
});
