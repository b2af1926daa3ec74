import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { describeError } from './error-text.ts';

test('a rate limit says in how many seconds to retry, then that a retry is possible now', () => {
  const error = { code: 'rate_limited' as const, message: 'x', retryable: true, retryAt: 10_500 };
  assert.deepEqual(describeError(error, 1_000), {
    key: 'errorRateLimited',
    substitutions: ['10'],
    canRetry: true,
    retryAt: 10_500,
  });
  assert.equal(describeError(error, 11_000).key, 'errorRateLimitedNow');
});

test('a provider error passes on what the provider said', () => {
  const text = describeError({ code: 'provider_error', message: 'upstream 502', retryable: true });
  assert.equal(text.key, 'errorProvider');
  assert.deepEqual(text.substitutions, ['upstream 502']);
});

test('every locale has every message, with the same placeholders', () => {
  type Messages = Record<string, { message: string; placeholders?: Record<string, unknown> }>;
  const load = (locale: string) =>
    JSON.parse(
      readFileSync(new URL(`../../static/_locales/${locale}/messages.json`, import.meta.url), 'utf8'),
    ) as Messages;
  const english = load('en');
  const chinese = load('zh_CN');
  assert.deepEqual(Object.keys(chinese).sort(), Object.keys(english).sort());
  for (const [key, entry] of Object.entries(english)) {
    const placeholders = (text: string) =>
      [...text.matchAll(/\$([A-Z_]+)\$/g)].map((match) => match[1]).sort();
    assert.deepEqual(placeholders(chinese[key]!.message), placeholders(entry.message), key);
    assert.deepEqual(
      Object.keys(chinese[key]!.placeholders ?? {}),
      Object.keys(entry.placeholders ?? {}),
      key,
    );
  }
});
