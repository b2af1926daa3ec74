import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptedGateway, waitUntil } from '../test/scripted-gateway.ts';
import { openWsSocket } from '../test/ws-socket.ts';

test('a malformed URL is reported as a failed connection, asynchronously like one', async () => {
  const closes: number[] = [];
  openWsSocket('not a url', { open() {}, message() {}, close: (code) => closes.push(code) });
  assert.deepEqual(closes, [], 'not before the caller has the handle');
  await waitUntil(() => closes.length === 1);
  assert.deepEqual(closes, [1006]);
});

test('a refused connection closes once, without an unhandled error', async () => {
  const gone = await new ScriptedGateway().start();
  await gone.stop();
  const closes: number[] = [];
  openWsSocket(gone.url, { open() {}, message() {}, close: (code) => closes.push(code) });
  await waitUntil(() => closes.length > 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(closes, [1006]);
});

test('text frames are delivered, binary ones dropped; close gives the code and reason', async (t) => {
  const gateway = await new ScriptedGateway({ welcome: false }).start();
  t.after(() => gateway.stop());
  const messages: string[] = [];
  let closed: [number, string] | undefined;
  const socket = openWsSocket(gateway.url, {
    open: () => socket.send(JSON.stringify({ type: 'hello' })),
    message: (data) => messages.push(data),
    close: (code, reason) => {
      closed = [code, reason];
    },
  });
  await waitUntil(() => gateway.sockets.length === 1 && gateway.frames.length === 1);
  const server = gateway.sockets[0]!.socket;
  server.send(Buffer.from('binary'), { binary: true });
  server.send('{"type":"pong"}');
  await waitUntil(() => messages.length === 1);
  assert.deepEqual(messages, ['{"type":"pong"}']);
  server.close(4321, 'bye');
  await waitUntil(() => closed !== undefined);
  assert.deepEqual(closed, [4321, 'bye']);
});
