import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { ScriptedGateway, waitUntil } from '../test/scripted-gateway.ts';
import { openWsSocket } from '../test/ws-socket.ts';
import { Connection, type ConnectionOptions, type ConnectionState } from './connection.ts';

const fastBackoff = { initialMs: 20, maxMs: 200, factor: 2, random: () => 0.5 };

function connect(url: string, extra: Partial<ConnectionOptions> = {}) {
  const states: ConnectionState[] = [];
  const connection = new Connection({
    url,
    openSocket: openWsSocket,
    backoff: fastBackoff,
    onStatus: (status) => states.push(status.state),
    ...extra,
  });
  connection.start();
  return { connection, states };
}

test('hello carries the token; welcome makes the connection usable', async (t) => {
  const gateway = await new ScriptedGateway().start();
  t.after(() => gateway.stop());
  const { connection, states } = connect(gateway.url, { token: 'secret' });
  t.after(() => connection.stop());
  await waitUntil(() => connection.state === 'connected', 3_000, 'connected');
  assert.equal(gateway.frames[0]?.type, 'hello');
  assert.equal(gateway.frames[0]?.type === 'hello' && gateway.frames[0].token, 'secret');
  assert.deepEqual(states, ['connecting', 'connected']);
  assert.equal(connection.send({ type: 'models.list' }), true);
  await waitUntil(() => gateway.framesOfType('models.list').length === 1);
});

test('an app-level ping goes out every interval', async (t) => {
  const gateway = await new ScriptedGateway().start();
  t.after(() => gateway.stop());
  const { connection } = connect(gateway.url, { pingIntervalMs: 40 });
  t.after(() => connection.stop());
  await waitUntil(() => gateway.framesOfType('ping').length >= 3, 3_000, 'three pings');
  assert.equal(connection.state, 'connected', 'answered pings keep the socket alive');
});

test('service restart (1012), going away (1001) and overloaded (1013) all reconnect', async (t) => {
  const gateway = await new ScriptedGateway().start();
  t.after(() => gateway.stop());
  const { connection, states } = connect(gateway.url, { overloadedDelayMs: 50 });
  t.after(() => connection.stop());
  for (const [index, code] of [1012, 1001, 1013].entries()) {
    await waitUntil(() => connection.state === 'connected' && gateway.sockets.length === index + 1);
    gateway.sockets[index]?.close(code);
    await waitUntil(() => gateway.sockets.length === index + 2, 3_000, `reconnect after ${code}`);
  }
  await waitUntil(() => connection.state === 'connected');
  assert.equal(gateway.framesOfType('hello').length, 4, 'each new socket says hello again');
  assert.ok(states.filter((state) => state === 'offline').length >= 3);
});

test('a refused token (4401) stops the client from retrying', async (t) => {
  const gateway = await new ScriptedGateway({ refuseToken: true }).start();
  t.after(() => gateway.stop());
  const { connection } = connect(gateway.url, { token: 'wrong' });
  t.after(() => connection.stop());
  await waitUntil(() => connection.state === 'unauthorized', 3_000, 'unauthorized');
  // Every reconnect is scheduled with a retryAt (see the test of growing delays); a refusal schedules none.
  assert.equal(connection.currentStatus.retryAt, undefined, 'no second attempt with the same token');
  assert.equal(gateway.sockets.length, 1);
  // A new token is worth a try.
  gateway.options.refuseToken = false;
  connection.configure({ url: gateway.url, token: 'right' });
  await waitUntil(() => connection.state === 'connected', 3_000, 'connected with the new token');
});

test('while the server is down the client retries with growing delays, and connects when it is back', async (t) => {
  const probe = await new ScriptedGateway().start();
  const port = probe.port;
  await probe.stop();
  const retryDelays: number[] = [];
  let lastRetryAt = 0;
  const connection = new Connection({
    url: `ws://127.0.0.1:${port}/v1/ws`,
    openSocket: openWsSocket,
    backoff: { initialMs: 20, maxMs: 400, factor: 2, random: () => 0.999 },
    now: Date.now,
    onStatus: (status) => {
      if (status.state === 'offline' && status.retryAt) {
        retryDelays.push(status.retryAt - Date.now());
        lastRetryAt = status.retryAt;
      }
    },
  });
  connection.start();
  t.after(() => connection.stop());
  await waitUntil(() => retryDelays.length >= 4, 5_000, 'four failed attempts');
  for (let index = 1; index < 4; index += 1) {
    assert.ok(retryDelays[index]! > retryDelays[index - 1]! * 1.5, `delays grow: ${retryDelays.join(', ')}`);
  }
  assert.ok(lastRetryAt > 0);
  const gateway = await new ScriptedGateway({ port }).start();
  t.after(() => gateway.stop());
  await waitUntil(() => connection.state === 'connected', 5_000, 'connected once the server is back');
});

test('a server that never says welcome, or stops answering, is left and retried', async (t) => {
  const silent = await new ScriptedGateway({ welcome: false }).start();
  t.after(() => silent.stop());
  const { connection } = connect(silent.url, { welcomeTimeoutMs: 100 });
  t.after(() => connection.stop());
  await waitUntil(() => silent.sockets.length >= 2, 3_000, 'a second attempt after no welcome');
  connection.stop();

  const mute = await new ScriptedGateway({ pong: false }).start();
  t.after(() => mute.stop());
  const stale = connect(mute.url, { pingIntervalMs: 30, staleAfterMs: 100 });
  t.after(() => stale.connection.stop());
  await waitUntil(() => mute.sockets.length >= 2, 3_000, 'a new socket after the old one went quiet');
});

test('stop closes the socket and nothing reconnects', async (t) => {
  const gateway = await new ScriptedGateway().start();
  t.after(() => gateway.stop());
  const { connection } = connect(gateway.url);
  await waitUntil(() => connection.state === 'connected');
  connection.stop();
  assert.equal(connection.state, 'stopped');
  assert.equal(connection.currentStatus.retryAt, undefined, 'no reconnect is scheduled');
  await waitUntil(
    () => gateway.sockets[0]?.socket.readyState === WebSocket.CLOSED,
    3_000,
    'the server to see the socket close',
  );
  assert.equal(gateway.sockets.length, 1);
  assert.equal(connection.send({ type: 'models.list' }), false);
});
