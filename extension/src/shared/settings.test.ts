import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filesUrl, normalizeServerUrl, parseSettings, sendsTokenInClear } from './settings.ts';

test('server addresses as people type them become socket URLs', () => {
  const cases: [string, string | undefined][] = [
    ['ws://127.0.0.1:8787/v1/ws', 'ws://127.0.0.1:8787/v1/ws'],
    ['  ws://127.0.0.1:8787  ', 'ws://127.0.0.1:8787/v1/ws'],
    ['localhost:8787', 'ws://localhost:8787/v1/ws'],
    ['127.0.0.2:8787', 'ws://127.0.0.2:8787/v1/ws'],
    ['[::1]:8787', 'ws://[::1]:8787/v1/ws'],
    // No scheme and another host: encrypted, or the token would cross the network in clear.
    ['chat.example.com', 'wss://chat.example.com/v1/ws'],
    ['chat.example.com:8443/v1/ws', 'wss://chat.example.com:8443/v1/ws'],
    ['192.168.1.20:8787', 'wss://192.168.1.20:8787/v1/ws'],
    ['localhost.evil.example', 'wss://localhost.evil.example/v1/ws'],
    ['127.0.0.1.evil.example', 'wss://127.0.0.1.evil.example/v1/ws'],
    // A scheme typed by the user is kept (the options page warns when it exposes the token).
    ['http://chat.example.com', 'ws://chat.example.com/v1/ws'],
    ['ws://192.168.1.20:8787', 'ws://192.168.1.20:8787/v1/ws'],
    ['https://chat.example.com/', 'wss://chat.example.com/v1/ws'],
    ['wss://chat.example.com/custom/path', 'wss://chat.example.com/custom/path'],
    ['ftp://example.com', undefined],
    ['javascript:alert(1)', undefined],
    ['', undefined],
    ['ws://', undefined],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeServerUrl(input), expected, input);
});

test('a token bound for another host over ws:// or http:// is flagged, not one that stays local or encrypted', () => {
  const cases: [string, string, boolean][] = [
    ['ws://chat.example.com/v1/ws', 'secret-token', true],
    ['http://chat.example.com', 'secret-token', true],
    ['ws://192.168.1.20:8787', 'secret-token', true],
    ['ws://chat.example.com/v1/ws', '  ', false],
    ['wss://chat.example.com/v1/ws', 'secret-token', false],
    ['chat.example.com', 'secret-token', false],
    ['ws://127.0.0.1:8787/v1/ws', 'secret-token', false],
    ['ws://localhost:8787', 'secret-token', false],
    ['ws://[::1]:8787', 'secret-token', false],
    ['not a url at all', 'secret-token', false],
  ];
  for (const [url, token, expected] of cases) assert.equal(sendsTokenInClear(url, token), expected, url);
});

test('uploads go to the gateway that serves the socket', () => {
  assert.equal(filesUrl('ws://127.0.0.1:8787/v1/ws'), 'http://127.0.0.1:8787/v1/files');
  assert.equal(filesUrl('wss://chat.example.com/custom/path?x=1'), 'https://chat.example.com/v1/files');
});

test('stored settings of the wrong shape fall back to their defaults', () => {
  const settings = parseSettings({
    serverUrl: 'ws://host:1/v1/ws',
    token: 42,
    pageBudget: 5,
    presets: [{ id: 'a', name: 'A', text: 'Do A' }, { id: 'b' }, 'junk'],
  });
  assert.equal(settings.serverUrl, 'ws://host:1/v1/ws');
  assert.equal(settings.token, '');
  assert.equal(settings.pageBudget, 1_000, 'the budget is kept within its limits');
  assert.deepEqual(settings.presets, [{ id: 'a', name: 'A', text: 'Do A' }]);
  assert.equal(parseSettings({}).presets, undefined, 'no presets of ones own: the built-in ones');
  assert.equal(parseSettings({}).pageBudget, 20_000);
});
