import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, describeConfig, loadConfig, parseTokens } from './config.ts';

test('defaults: loopback, port 8787, local Redis, the demo model alone', () => {
  const config = loadConfig({});
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8787);
  assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  assert.deepEqual(
    config.providers.map((provider) => provider.id),
    ['demo'],
  );
  assert.equal(config.defaultModel, 'demo');
  assert.equal(config.tokens.size, 0);
  assert.equal(config.helloTimeoutMs, 5_000, "the protocol's hello timeout");
});

test('each bad value stops start-up with a message naming its variable', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /^PORT /],
    [{ PORT: '70000' }, /^PORT /],
    [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL /],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL /],
    [{ HOST: '0.0.0.0' }, /AUTH_TOKENS/],
    [{ AUTH_TOKENS: 'no-colon' }, /^AUTH_TOKENS /],
    [{ AUTH_TOKENS: 'a:short' }, /^AUTH_TOKENS .*8 characters/],
    [{ AUTH_TOKENS: 'a:same-token,b:same-token' }, /used twice/],
    [{ OPENAI_BASE_URL: 'ftp://x' }, /^OPENAI_BASE_URL /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL /],
    [{ HELLO_TIMEOUT_MS: '10' }, /^HELLO_TIMEOUT_MS /],
    [{ WORKER_CONCURRENCY: '0' }, /^WORKER_CONCURRENCY /],
    [{ DEFAULT_MODEL: 'nope' }, /^DEFAULT_MODEL /],
    [{ KEY_PREFIX: 'has space' }, /^KEY_PREFIX /],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
      JSON.stringify(env),
    );
  }
});

test('providers from the environment; the demo model steps aside for real ones', () => {
  const config = loadConfig({
    HOST: '0.0.0.0',
    AUTH_TOKENS: 'ann:token-for-ann, ben:token-for-ben',
    OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/',
    OPENAI_MODEL: 'llama3.2,qwen2.5',
    DEEPSEEK_API_KEY: 'sk-deepseek',
    VISION_MODELS: 'qwen2.5',
  });
  assert.deepEqual(
    config.providers.map((provider) => [
      provider.id,
      provider.baseURL,
      provider.models.map((model) => model.id),
    ]),
    [
      ['openai', 'http://127.0.0.1:11434/v1', ['llama3.2', 'qwen2.5']],
      ['deepseek', 'https://api.deepseek.com', ['deepseek-chat', 'deepseek-reasoner']],
    ],
  );
  assert.equal(config.providers[1]?.models[1]?.reasoning, true);
  assert.equal(config.providers[0]?.models[1]?.vision, true);
  assert.equal(config.defaultModel, 'llama3.2');
  assert.equal(parseTokens('ann:token-for-ann').get('token-for-ann'), 'ann');
  const described = JSON.stringify(describeConfig(config));
  assert.ok(
    !described.includes('sk-deepseek') && !described.includes('token-for-ann'),
    'no secret in the logged config',
  );
});

test('EXTRACT_CONCURRENCY: 2 extractions at once by default, 1..64 allowed', () => {
  assert.equal(loadConfig({}).files.extractConcurrency, 2);
  assert.equal(loadConfig({ EXTRACT_CONCURRENCY: '5' }).files.extractConcurrency, 5);
  for (const value of ['0', '65', 'two']) {
    assert.throws(
      () => loadConfig({ EXTRACT_CONCURRENCY: value }),
      (error: unknown) => error instanceof ConfigError && /^EXTRACT_CONCURRENCY /.test(error.message),
    );
  }
});

test('web search: off without SEARXNG_URL; its bounds have defaults; its credentials are never logged', () => {
  const off = loadConfig({});
  assert.equal(off.search.searxngUrl, undefined);
  assert.deepEqual(
    [off.search.timeoutMs, off.search.maxResults, off.search.maxResponseBytes, off.search.maxCharsPerResult],
    [5_000, 5, 1_048_576, 1_000],
  );
  assert.equal(describeConfig(off).webSearch, 'off');
  const on = loadConfig({
    SEARXNG_URL: 'https://user:hunter2-secret@search.example/',
    SEARCH_MAX_RESULTS: '3',
  });
  assert.equal(on.search.searxngUrl, 'https://user:hunter2-secret@search.example');
  assert.equal(on.search.maxResults, 3);
  assert.ok(!JSON.stringify(describeConfig(on)).includes('hunter2'), 'no password in the logged config');
  for (const [name, value] of [
    ['SEARXNG_URL', 'ftp://search.example'],
    ['SEARCH_TIMEOUT_MS', '50'],
    ['SEARCH_MAX_RESULTS', '0'],
    ['SEARCH_MAX_RESPONSE_BYTES', 'many'],
    ['SEARCH_MAX_CHARS_PER_RESULT', '10'],
  ] as const) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) => error instanceof ConfigError && error.message.startsWith(`${name} `),
    );
  }
});
