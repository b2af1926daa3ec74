import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAddress, createLoginThrottle } from './login-throttle.ts';

test('an address waits after maxFailures, twice as long after each further failure, up to the cap', () => {
  let time = 0;
  const throttle = createLoginThrottle({
    maxFailures: 3,
    baseDelayMs: 1_000,
    maxDelayMs: 5_000,
    now: () => time,
  });
  throttle.failed('a');
  throttle.failed('a');
  assert.equal(throttle.waitMs('a'), 0, 'two failures: no wait yet');
  throttle.failed('a');
  assert.equal(throttle.waitMs('a'), 1_000);
  assert.equal(throttle.waitMs('b'), 0, 'another address is not affected');
  time += 1_000;
  throttle.failed('a');
  assert.equal(throttle.waitMs('a'), 2_000);
  time += 2_000;
  throttle.failed('a');
  throttle.failed('a');
  assert.equal(throttle.waitMs('a'), 5_000, 'capped');
  time += 5_001;
  assert.equal(throttle.waitMs('a'), 0, 'and forgotten after a quiet while');
  throttle.failed('a');
  assert.equal(throttle.waitMs('a'), 0, 'counting from zero again');
});

test('the map of addresses is bounded: the oldest is forgotten first', () => {
  const throttle = createLoginThrottle({ maxFailures: 1, maxAddresses: 2, now: () => 0 });
  throttle.failed('a');
  throttle.failed('b');
  throttle.failed('c');
  assert.equal(throttle.waitMs('a'), 0);
  assert.ok(throttle.waitMs('b') > 0 && throttle.waitMs('c') > 0);
});

test('the address is the peer, or the last X-Forwarded-For entry behind a trusted proxy', () => {
  assert.equal(clientAddress('10.0.0.1', '1.2.3.4', false), '10.0.0.1');
  assert.equal(clientAddress('10.0.0.1', 'spoofed, 1.2.3.4', true), '1.2.3.4');
  assert.equal(clientAddress('10.0.0.1', undefined, true), '10.0.0.1');
  assert.equal(clientAddress(undefined, undefined, false), 'unknown');
});
