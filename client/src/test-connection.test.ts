import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ScriptedGateway } from '../test/scripted-gateway.ts';
import { openWsSocket } from '../test/ws-socket.ts';
import { testConnection } from './test-connection.ts';

const probeHttp = async (url: string) => {
  try {
    await fetch(url);
    return true;
  } catch {
    return false;
  }
};

test('a working gateway reports its models', async (t) => {
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'models.list') {
        socket.send({ type: 'models', models: [{ id: 'demo', provider: 'demo' }], default: 'demo' });
      }
    },
  }).start();
  t.after(() => gateway.stop());
  const result = await testConnection({ url: gateway.url, openSocket: openWsSocket, probeHttp });
  assert.deepEqual(result, {
    ok: true,
    server: 'scripted',
    user: 'tester',
    models: [{ id: 'demo', provider: 'demo' }],
    defaultModel: 'demo',
  });
});

test('a refused token, a closed port and a plain web server are told apart', async (t) => {
  const refusing = await new ScriptedGateway({ refuseToken: true }).start();
  t.after(() => refusing.stop());
  assert.deepEqual(
    await testConnection({ url: refusing.url, token: 'bad', openSocket: openWsSocket, probeHttp }),
    {
      ok: false,
      problem: 'token_refused',
    },
  );

  const closed = await new ScriptedGateway().start();
  const closedUrl = closed.url;
  await closed.stop();
  assert.deepEqual(await testConnection({ url: closedUrl, openSocket: openWsSocket, probeHttp }), {
    ok: false,
    problem: 'cannot_connect',
  });

  const web = createServer((_request, response) => response.end('<html>hello</html>'));
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  t.after(() => web.close());
  const webUrl = `ws://127.0.0.1:${(web.address() as AddressInfo).port}/v1/ws`;
  assert.deepEqual(await testConnection({ url: webUrl, openSocket: openWsSocket, probeHttp }), {
    ok: false,
    problem: 'not_chrome_plus',
  });

  const silent = await new ScriptedGateway({ welcome: false }).start();
  t.after(() => silent.stop());
  assert.deepEqual(
    await testConnection({ url: silent.url, openSocket: openWsSocket, probeHttp, timeoutMs: 200 }),
    { ok: false, problem: 'not_chrome_plus' },
  );
});
