// Tokens, other users' requests and files across gateways, origins, and secrets in debug logs and frames.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAuthenticator } from '../../src/gateway/auth.ts';
import { securityChecks } from './security.ts';

test('tokens, users, origins and secrets, against gateway processes at debug log level', async (t) => {
  const { checks } = await securityChecks();
  for (const check of checks)
    t.diagnostic(`${check.ok ? 'ok' : 'FAILED'}: ${check.name} → ${check.observed}`);
  const failed = checks.filter((check) => !check.ok);
  assert.deepEqual(
    failed.map((check) => `${check.name}: expected ${check.expected}, got ${check.observed}`),
    [],
  );
});

test('token checks: near misses, other lengths, empty and huge tokens are all refused; the right ones accepted', () => {
  const authenticate = createAuthenticator(
    new Map([
      ['first-token-0123456789', 'first'],
      ['second-token-abcdefghij', 'second'],
    ]),
  );
  assert.equal(authenticate('first-token-0123456789'), 'first');
  assert.equal(authenticate('second-token-abcdefghij'), 'second');
  for (const wrong of [
    'first-token-012345678',
    'first-token-01234567890',
    'first-token-012345678X',
    'FIRST-TOKEN-0123456789',
    '',
    'x'.repeat(100_000),
    'first-token-0123456789\u0000',
  ])
    assert.equal(authenticate(wrong), undefined, JSON.stringify(wrong.slice(0, 40)));
  assert.equal(authenticate(undefined), undefined);
});
