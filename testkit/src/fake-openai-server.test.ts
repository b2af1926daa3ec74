// The fake model server speaks the wire format of OpenAI's streaming Chat Completions, and injects its faults.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeOpenAI, fakeBehaviours, markerBehaviour, startFakeOpenAI } from './fake-openai-server.ts';

let fake: FakeOpenAI;
before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  await fake.close();
});

async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${fake.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test-key', ...headers },
    body: JSON.stringify(body),
  });
}

function chat(text: string, extra: Record<string, unknown> = {}) {
  return {
    model: 'fake-model',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: text }],
    ...extra,
  };
}

/** The SSE events of a finished response: data payloads and comments, in order. */
function events(text: string): string[] {
  assert.ok(text.endsWith('\n\n'), 'every SSE event ends with a blank line');
  return text.split('\n\n').filter((event) => event !== '');
}

function data(event: string): Record<string, unknown> {
  assert.ok(event.startsWith('data: '), `not a data event: ${event}`);
  return JSON.parse(event.slice('data: '.length)) as Record<string, unknown>;
}

test('the default answer echoes the last user message as OpenAI-shaped chunks, then usage, then [DONE]', async () => {
  const response = await post(chat('hello there'));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const all = events(await response.text());
  assert.equal(all.at(-1), 'data: [DONE]');
  const chunks = all.slice(0, -1).map(data);
  for (const chunk of chunks) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.model, 'fake-model');
    assert.match(String(chunk.id), /^chatcmpl-/);
    assert.equal(typeof chunk.created, 'number');
  }
  const usage = chunks.at(-1)!;
  assert.deepEqual(usage.choices, []);
  assert.equal(typeof (usage.usage as { prompt_tokens: number }).prompt_tokens, 'number');
  const choices = chunks.slice(0, -1).map((chunk) => (chunk.choices as Record<string, unknown>[])[0]!);
  assert.deepEqual(choices[0]!.delta, { role: 'assistant', content: '', refusal: null });
  const text = choices.map((choice) => (choice.delta as { content?: string }).content ?? '').join('');
  assert.equal(text, 'Echo: hello there');
  assert.equal(choices.at(-1)!.finish_reason, 'stop');
  assert.ok(choices.slice(0, -1).every((choice) => choice.finish_reason === null));
});

test('without stream_options.include_usage there is no usage chunk', async () => {
  const response = await post(chat('hi', { stream_options: undefined }));
  const chunks = events(await response.text())
    .slice(0, -1)
    .map(data);
  assert.ok(chunks.every((chunk) => (chunk.choices as unknown[]).length === 1 && !('usage' in chunk)));
});

test('a queued behaviour applies to the next request only, and requests are recorded', async () => {
  fake.enqueue({ type: 'answer', pieces: ['a', 'b'], reasoning: ['think'], keepAliveEvery: 1 });
  const count = fake.requests.length;
  const text = await (await post(chat('x'))).text();
  assert.match(text, /^: keep-alive$/m);
  const deltas = events(text)
    .filter((event) => event.startsWith('data: {'))
    .map((event) => (data(event).choices as { delta: Record<string, unknown> }[])[0]?.delta ?? {})
    .filter((delta) => delta.role === undefined);
  assert.deepEqual(deltas.slice(0, 3), [
    { content: null, reasoning_content: 'think' },
    { content: 'a', reasoning_content: null },
    { content: 'b', reasoning_content: null },
  ]);
  const record = fake.requests[count]!;
  assert.equal(record.path, '/v1/chat/completions');
  assert.equal(record.headers.authorization, 'Bearer test-key');
  assert.equal(record.body?.model, 'fake-model');
  assert.ok(record.receivedAt > 1_600_000_000_000);
  assert.deepEqual(await record.closed.then((closed) => closed.early), false);
  assert.match(await (await post(chat('again'))).text(), /Echo:/);
});

test('status behaviours answer with an OpenAI-style error body and headers', async () => {
  fake.enqueue(fakeBehaviours.rateLimited('7'));
  const limited = await post(chat('x'));
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '7');
  const body = (await limited.json()) as { error: { message: string; code: string } };
  assert.equal(body.error.code, 'rate_limit_exceeded');

  fake.enqueue(fakeBehaviours.unauthorized());
  const refused = await post(chat('x'));
  assert.equal(refused.status, 401);
  assert.match(await refused.text(), /test-key/);
});

test('markers select a behaviour per request, `times` limits how often', async () => {
  const first = await post(chat('please [[fake:server_error status=503 times=1]]'));
  assert.equal(first.status, 503);
  const second = await post(chat('please [[fake:server_error status=503 times=1]]'));
  assert.equal(second.status, 200);
  assert.match(await second.text(), /"content":"please"/);
  assert.equal(markerBehaviour('[[fake:answer tokens=5 interval=2]]')?.behaviour.type, 'answer');
  const tokens = await (await post(chat('[[fake:tokens=3]]'))).text();
  assert.match(tokens, /tok1 [\s\S]*tok2 [\s\S]*tok3 /);
  assert.doesNotMatch(tokens, /tok4/);
});

test('a cut stream ends without [DONE] and the server records the early close', async () => {
  fake.enqueue(fakeBehaviours.cut(1));
  const count = fake.requests.length;
  const response = await post(chat('x'));
  await assert.rejects(response.text());
  assert.equal((await fake.requests[count]!.closed).early, true);
});

test('an error object inside the stream ends it', async () => {
  fake.enqueue(fakeBehaviours.streamError(1));
  const all = events(await (await post(chat('x'))).text());
  assert.deepEqual(Object.keys(data(all.at(-1)!)), ['error']);
  assert.ok(!all.includes('data: [DONE]'));
});

test('tokens at a fixed rate', async () => {
  fake.enqueue({ type: 'answer', tokens: 5, tokenIntervalMs: 5 });
  const started = performance.now();
  const text = await (await post(chat('x'))).text();
  assert.ok(performance.now() - started >= 20);
  assert.equal(
    events(text)
      .filter((event) => event !== 'data: [DONE]')
      .map(
        (event) =>
          (data(event) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '',
      )
      .join(''),
    'tok1 tok2 tok3 tok4 tok5 ',
  );
});

test('GET /models lists the models; close() ends held connections', async () => {
  const models = (await (await fetch(`${fake.url}/models`)).json()) as { data: { id: string }[] };
  assert.deepEqual(
    models.data.map((model) => model.id),
    ['fake-model', 'fake-reasoner'],
  );
  const other = await startFakeOpenAI();
  other.enqueue(fakeBehaviours.hang());
  const pending = fetch(`${other.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chat('x')) });
  while (other.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  await other.close();
  await assert.rejects(pending);
});
