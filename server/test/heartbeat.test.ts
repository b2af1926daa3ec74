// The gateway's heartbeat: one pass over the sockets every HEARTBEAT_MS; a socket that did not answer the previous
// ping is dropped, one that answers stays as long as it likes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanupPrefix, testPrefix, until } from '@chrome-plus/testkit';
import { startTestApp, TestClient, testEnv } from './harness.ts';
import { RawWebSocket } from './reliability/raw-socket.ts';

const prefix = testPrefix('beat');
let app: Awaited<ReturnType<typeof startTestApp>>;

before(async () => {
  app = await startTestApp(
    'gateway',
    testEnv(prefix, { HEARTBEAT_MS: '150', AUTH_TOKENS: 'ann:ann-token-123' }),
  );
});

after(async () => {
  await app.close();
  await cleanupPrefix(prefix);
});

test('a socket that stops answering pings is dropped; one that answers stays', async () => {
  const healthy = await TestClient.open(app.url, 'ann-token-123');
  const silent = await RawWebSocket.connect(app.gateway!.port);
  silent.sendText(JSON.stringify({ type: 'hello', token: 'ann-token-123' }));
  await until(() => silent.texts.some((text) => text.includes('"welcome"')), { what: 'the welcome' });
  const stoppedAt = Date.now();
  silent.pauseReading(); // its pongs stop: the pings are never read
  // A paused client sees nothing either way: the gateway's count of sockets says it let go.
  assert.equal(app.gateway!.sockets, 2);
  await until(() => app.gateway!.sockets === 1, { what: 'the silent socket to be dropped' });
  const droppedAfter = Date.now() - stoppedAt;
  assert.ok(droppedAfter < 2_000, `dropped after ${droppedAfter} ms, within a few 150 ms intervals`);
  // The healthy socket has lived through every one of those intervals and still answers.
  assert.equal(healthy.socket.readyState, healthy.socket.OPEN);
  healthy.send({ type: 'ping', t: 'still here' });
  await healthy.next((frame) => frame.type === 'pong');
  healthy.close();
  silent.destroy();
});
