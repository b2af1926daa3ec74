import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeServerUrl } from './settings.ts';

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
