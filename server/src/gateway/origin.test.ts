import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { chromePlusExtensionId, chromePlusExtensionOrigin, createOriginCheck } from './origin.ts';

const manifestUrl = new URL('../../../extension/static/manifest.json', import.meta.url);

test("the extension id is the one Chrome derives from the manifest's key", () => {
  const manifest = JSON.parse(readFileSync(manifestUrl, 'utf8')) as { key?: string };
  assert.ok(manifest.key, 'the manifest has a public key');
  const der = Buffer.from(manifest.key, 'base64');
  // Chrome: sha256 of the DER SubjectPublicKeyInfo, the first 32 hex digits written with a-p for 0-f.
  const hex = createHash('sha256').update(der).digest('hex').slice(0, 32);
  const id = [...hex].map((digit) => String.fromCharCode(97 + Number.parseInt(digit, 16))).join('');
  assert.equal(chromePlusExtensionId, id);
});

test('by default only the Chrome Plus extension may connect; no Origin is judged by token alone', () => {
  const allowed = createOriginCheck();
  assert.equal(allowed(chromePlusExtensionOrigin), true);
  assert.equal(allowed(undefined), true);
  for (const origin of [
    'chrome-extension://abcdefghijklmnopabcdefghijklmnop',
    `chrome-extension://${chromePlusExtensionId}.evil.example`,
    'http://localhost:3000',
    'http://localhost',
    'http://127.0.0.1:8080',
    'https://evil.example',
    'null',
  ]) {
    assert.equal(allowed(origin), false, origin);
  }
});

test('configured patterns: * stands for a port or a host part, never for a path', () => {
  const allowed = createOriginCheck(['http://localhost:*', 'chrome-extension://*', 'https://*.example.com']);
  assert.equal(allowed('http://localhost'), true);
  assert.equal(allowed('http://localhost:3000'), true);
  assert.equal(allowed('http://localhost.evil.example'), false);
  assert.equal(allowed('chrome-extension://abcdefghijklmnopabcdefghijklmnop'), true);
  assert.equal(allowed('https://app.example.com'), true);
  assert.equal(allowed('https://example.com.evil/x.example.com'), false);
  assert.equal(allowed(chromePlusExtensionOrigin.replace('chrome-extension', 'http')), false);
});
