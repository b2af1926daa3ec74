// The registry finds the provider of a model and lists the models as the protocol shows them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelInfoSchema } from '@chrome-plus/protocol';
import { loadConfig } from '../config.ts';
import { createProviders } from './registry.ts';

const timeouts = { connectMs: 1000, idleMs: 1000, totalMs: 10_000 };

test('resolves each configured model to its provider and lists them in order', () => {
  const config = loadConfig({
    DEEPSEEK_API_KEY: 'sk-deepseek-0000',
    OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
    OPENAI_MODEL: 'llama3,qwen2-vl',
    VISION_MODELS: 'qwen2-vl',
    DEMO_MODEL: 'on',
  });
  const providers = createProviders(config.providers, { timeouts, demoDelayMs: 0 });
  const models = providers.models();
  assert.deepEqual(models, [
    { id: 'llama3', provider: 'openai', reasoning: false, vision: false },
    { id: 'qwen2-vl', provider: 'openai', reasoning: false, vision: true },
    { id: 'deepseek-chat', provider: 'deepseek', reasoning: false, vision: false },
    { id: 'deepseek-reasoner', provider: 'deepseek', reasoning: true, vision: false },
    { id: 'demo', provider: 'demo', reasoning: false, vision: false },
  ]);
  for (const model of models) assert.ok(modelInfoSchema.safeParse(model).success);
  assert.equal(providers.resolve('deepseek-reasoner')?.provider.id, 'deepseek');
  assert.equal(providers.resolve('deepseek-reasoner')?.model.reasoning, true);
  assert.equal(providers.resolve('qwen2-vl')?.provider.id, 'openai');
  assert.equal(providers.resolve('demo')?.provider.id, 'demo');
  assert.equal(providers.resolve('gpt-nope'), undefined);
  // The list is a copy: a caller cannot change what the next caller sees.
  models.pop();
  assert.equal(providers.models().length, 5);
});

test('with nothing configured only the demo model is there, and it answers', async () => {
  const providers = createProviders(loadConfig({}).providers, { timeouts, demoDelayMs: 0 });
  assert.deepEqual(
    providers.models().map((model) => model.id),
    ['demo'],
  );
  const resolved = providers.resolve('demo');
  assert.ok(resolved);
  let finished = false;
  for await (const event of resolved.provider.stream({
    model: 'demo',
    messages: [{ role: 'user', content: 'hi' }],
    signal: new AbortController().signal,
  })) {
    if (event.type === 'finish') finished = true;
  }
  assert.ok(finished);
});
