import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, passwordProblem, verifyPassword } from './password.ts';

// A low cost keeps the test quick; the parameters travel with the hash, so verifying reads them from there.
const cheap = { N: 1024, r: 8, p: 1 } as const;

test('a password verifies against its hash, a wrong one does not; each hash has a salt of its own', async () => {
  const stored = await hashPassword('correct horse battery', cheap);
  assert.match(stored, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.equal(stored.includes('correct horse'), false);
  assert.equal(await verifyPassword('correct horse battery', stored), true);
  assert.equal(await verifyPassword('correct horse batterY', stored), false);
  assert.equal(await verifyPassword('', stored), false);
  assert.notEqual(await hashPassword('correct horse battery', cheap), stored);
});

test('the default cost is what the hash records, and what a hash records is what verifying uses', async () => {
  const stored = await hashPassword('correct horse battery');
  assert.match(stored, /^scrypt\$32768\$8\$1\$/);
  // The same key under other parameters is another key: the stored ones must be the ones used.
  const [, , , , salt, key] = stored.split('$');
  assert.equal(await verifyPassword('correct horse battery', `scrypt$16384$8$1$${salt}$${key}`), false);
  assert.equal(await verifyPassword('correct horse battery', stored), true);
});

test('unicode passwords are compared in one normal form', async () => {
  const stored = await hashPassword('caf\u00e9-p\u00e4ssw\u00f6rd', cheap);
  assert.equal(await verifyPassword('cafe\u0301-pa\u0308ssw\u00f6rd', stored), true);
});

test('no stored hash (no such user, or no password) and malformed hashes never match', async () => {
  assert.equal(await verifyPassword('anything at all', null), false);
  assert.equal(await verifyPassword('anything at all', undefined), false);
  for (const malformed of [
    '',
    'plain',
    'bcrypt$1$2$3$a$b',
    'scrypt$x$8$1$c2FsdA$a2V5',
    'scrypt$1024$8$1$c2FsdA$',
  ]) {
    assert.equal(await verifyPassword('anything at all', malformed), false, malformed);
  }
});

test('a password has 8 to 1024 characters', () => {
  assert.match(passwordProblem('short') ?? '', /at least 8/);
  assert.equal(passwordProblem('eight ch'), undefined);
  assert.match(passwordProblem('x'.repeat(1025)) ?? '', /at most 1024/);
});
