// The demo model says what it is and how to configure a real one, in the user's language, and stops when asked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDemoProvider, demoTranslation, looksChinese, splitWords } from './demo.ts';
import type { ProviderEvent, ProviderRequest } from './types.ts';

function request(text: string, signal = new AbortController().signal): ProviderRequest {
  return {
    model: 'demo',
    messages: [
      { role: 'user', content: 'an earlier question' },
      { role: 'assistant', content: 'an earlier answer' },
      { role: 'user', content: text },
    ],
    signal,
  };
}

async function collect(events: AsyncIterable<ProviderEvent>): Promise<ProviderEvent[]> {
  const all: ProviderEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

function answerOf(events: ProviderEvent[]): string {
  return events.map((event) => (event.type === 'delta' ? (event.text ?? '') : '')).join('');
}

test('streams a labelled demo answer word by word, quoting the last user message, with markdown', async () => {
  const events = await collect(createDemoProvider({ delayMs: 0 }).stream(request('What is a  side\npanel?')));
  const deltas = events.filter((event) => event.type === 'delta');
  assert.ok(deltas.length > 50, 'word by word');
  assert.ok(deltas.every((event) => event.text !== undefined && event.text !== ''));
  const answer = answerOf(events);
  assert.match(answer, /Chrome Plus demo model/);
  assert.match(answer, /No model API is configured/);
  assert.match(answer, /> What is a side panel\?/);
  for (const variable of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'DEEPSEEK_API_KEY'])
    assert.ok(answer.includes(variable));
  assert.match(answer, /^- /m, 'a list');
  assert.match(answer, /```bash\n[\s\S]*\n```/, 'a code block');
  const finish = events.at(-1);
  assert.equal(finish?.type, 'finish');
  assert.ok(finish?.type === 'finish');
  assert.equal(finish.finishReason, 'stop');
  assert.equal(finish.model, 'demo');
  assert.ok(finish.usage && finish.usage.promptTokens > 0 && finish.usage.completionTokens > 50);
  assert.equal(events.filter((event) => event.type === 'finish').length, 1);
});

test('answers in Simplified Chinese when the user writes Chinese', async () => {
  const events = await collect(createDemoProvider({ delayMs: 0 }).stream(request('侧边栏是什么？')));
  const answer = answerOf(events);
  assert.match(answer, /这是 Chrome Plus 的演示模型/);
  assert.match(answer, /> 侧边栏是什么？/);
  assert.match(answer, /DEEPSEEK_API_KEY/);
  assert.ok(looksChinese('你好'));
  assert.ok(!looksChinese('日本語のテキスト'), 'kana means Japanese');
  assert.ok(!looksChinese('hello'));
});

test('a quote cannot open a code block, and a long message is shortened', async () => {
  const answer = answerOf(
    await collect(createDemoProvider({ delayMs: 0 }).stream(request(`\`\`\`js ${'x'.repeat(500)}`))),
  );
  assert.equal(answer.match(/```/g)?.length, 2);
  assert.match(answer, /x…/);
});

test('the pieces rebuild the text exactly', () => {
  const text = 'Hello,  world!\n\n- a `b`\n中文的句子。';
  assert.equal(splitWords(text, 'en').join(''), text);
  assert.equal(splitWords(text, 'zh').join(''), text);
});

test('streams at a modest pace and stops with the abort reason', async () => {
  const controller = new AbortController();
  const events: ProviderEvent[] = [];
  const started = performance.now();
  const reason = new Error('stop');
  await assert.rejects(
    (async () => {
      for await (const event of createDemoProvider({ delayMs: 5 }).stream(request('hi', controller.signal))) {
        events.push(event);
        if (events.length === 3) controller.abort(reason);
      }
    })(),
    (error) => error === reason,
  );
  assert.equal(events.length, 3);
  assert.ok(performance.now() - started >= 10);
});

test('with no delay it still honours an abort', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    collect(createDemoProvider({ delayMs: 0 }).stream(request('hi', controller.signal))),
    (error: Error) => error.name === 'AbortError',
  );
});

test("a page translation's batch gets a labelled line under each marker, anything else the demo answer", () => {
  assert.equal(
    demoTranslation('[[3]] First paragraph.\n[[4]] Second one.'),
    '[[3]] [demo model: no translation] First paragraph.\n[[4]] [demo model: no translation] Second one.',
  );
  assert.equal(demoTranslation('Translate [[3]] this'), undefined);
  assert.equal(demoTranslation(''), undefined);
});
