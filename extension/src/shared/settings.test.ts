import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filesUrl, normalizeServerUrl, parseSettings } from './settings.ts';

test('server addresses as people type them become socket URLs', () => {
  const cases: [string, string | undefined][] = [
    ['ws://127.0.0.1:8787/v1/ws', 'ws://127.0.0.1:8787/v1/ws'],
    ['  ws://127.0.0.1:8787  ', 'ws://127.0.0.1:8787/v1/ws'],
    ['localhost:8787', 'ws://localhost:8787/v1/ws'],
    ['http://chat.example.com', 'ws://chat.example.com/v1/ws'],
    ['https://chat.example.com/', 'wss://chat.example.com/v1/ws'],
    ['wss://chat.example.com/custom/path', 'wss://chat.example.com/custom/path'],
    ['ftp://example.com', undefined],
    ['javascript:alert(1)', undefined],
    ['', undefined],
    ['ws://', undefined],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeServerUrl(input), expected, input);
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
