// The extension bundles the protocol with zod/mini (the `browser` condition of `#zod`), the server with zod:
// both must accept, reject, strip and word errors alike, so every frame below is parsed by both and compared.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { chatOptionsSchema } from './frames.ts';
import { parseClientFrame, parseServerFrame } from './parse.ts';

const values: unknown[] = [
  null,
  true,
  0,
  -1,
  1,
  1.5,
  2.5,
  1_000_001,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  'x',
  'a b',
  'y'.repeat(129),
  'z'.repeat(4097),
  [],
  [1],
  {},
  { fileId: 'f' },
  'user',
  'bad_request',
];
const message = { role: 'user', content: 'hi' };
const validFrames: Record<string, unknown>[] = [
  { type: 'hello', token: 't', client: 'c' },
  { type: 'ping', t: 5 },
  { type: 'models.list' },
  {
    type: 'chat.send',
    id: 'a1',
    messages: [{ ...message, attachments: [{ fileId: 'f1', name: 'n' }], extra: 1 }],
    model: 'm',
    options: { temperature: 1, maxTokens: 10, extra: true },
  },
  { type: 'chat.resume', id: 'a1', after: 0 },
  { type: 'chat.cancel', id: 'a1' },
  { type: 'welcome', user: 'u', server: 's', heartbeatMs: 1, limits: { maxFrameBytes: 1, other: 3 } },
  { type: 'pong' },
  { type: 'models', models: [{ id: 'm', provider: 'p', reasoning: true, x: 1 }], default: 'm' },
  { type: 'chat.accepted', id: 'a', queued: 1 },
  { type: 'chat.delta', id: 'a', seq: 1, text: 't', reasoning: 'r' },
  { type: 'chat.restart', id: 'a', seq: 2 },
  {
    type: 'chat.done',
    id: 'a',
    seq: 3,
    finishReason: 'stop',
    model: 'm',
    usage: { promptTokens: 1, completionTokens: 2 },
  },
  { type: 'chat.error', id: 'a', seq: 4, code: 'internal', message: 'm', retryable: false, retryAfterMs: 5 },
  { type: 'chat.cancelled', id: 'a', seq: 1 },
  { type: 'error', code: 'rate_limited', message: 'm' },
];
const nestedChanges: ((frame: Record<string, unknown>, value: unknown) => Record<string, unknown>)[] = [
  (frame, value) => ({ ...frame, messages: [{ ...message, role: value }] }),
  (frame, value) => ({ ...frame, messages: [{ ...message, attachments: value }] }),
  (frame, value) => ({ ...frame, messages: [{ ...message, attachments: [{ fileId: value }] }] }),
  (frame, value) => ({ ...frame, options: { temperature: value, maxTokens: value } }),
  (frame, value) => ({ ...frame, limits: { maxFrameBytes: value } }),
  (frame, value) => ({ ...frame, models: [{ id: value, provider: 'p' }] }),
  (frame, value) => ({ ...frame, usage: { promptTokens: value, completionTokens: 1 } }),
];

/** Each valid frame, then with each field removed, replaced by each value, or changed deeper down. */
function frameCorpus(): string[] {
  const texts = ['{', '[]', 'null', '"x"', '{}', '{"type":1}', '{"type":"nope","id":"q"}'];
  const attachments = Array.from({ length: 17 }, () => ({ fileId: 'f' }));
  texts.push(
    JSON.stringify({ type: 'chat.send', id: 'a', messages: Array.from({ length: 1001 }, () => message) }),
    JSON.stringify({ type: 'chat.send', id: 'a', messages: [{ ...message, attachments }] }),
  );
  for (const frame of validFrames) {
    texts.push(JSON.stringify(frame), JSON.stringify({ ...frame, unknownKey: 1 }));
    for (const key of new Set([...Object.keys(frame), 'id', 'seq', 'options', 'retryAfterMs'])) {
      const { [key]: _removed, ...rest } = frame;
      texts.push(JSON.stringify(rest));
      for (const value of values) texts.push(JSON.stringify({ ...frame, [key]: value }));
    }
    for (const change of nestedChanges)
      for (const value of values) texts.push(JSON.stringify(change(frame, value)));
  }
  return texts;
}

// Runs in a child process started with `--conditions=browser`, so `#zod` resolves as in the extension's bundle.
const browserParse = `
import { chatOptionsSchema } from ${JSON.stringify(new URL('./frames.ts', import.meta.url).href)};
import { parseClientFrame, parseServerFrame } from ${JSON.stringify(new URL('./parse.ts', import.meta.url).href)};
let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map((text) => [parseClientFrame(text), parseServerFrame(text)]);
process.stdout.write(JSON.stringify({ zodMini: !('optional' in chatOptionsSchema), results }));
`;

test('zod/mini in the browser parses every frame exactly as zod on the server', () => {
  const texts = frameCorpus();
  const child = spawnSync(
    process.execPath,
    ['--conditions=browser', '--import', 'tsx', '--input-type=module', '--eval', browserParse],
    { input: JSON.stringify(texts), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  assert.equal(child.status, 0, child.stderr);
  const browser = JSON.parse(child.stdout) as { zodMini: boolean; results: unknown[] };
  assert.equal(browser.zodMini, true, 'the child resolved #zod to zod/mini');
  assert.equal('optional' in chatOptionsSchema, true, 'this process resolved #zod to zod');
  const node = texts.map((text) => [parseClientFrame(text), parseServerFrame(text)]);
  const accepted = node.filter(([client, server]) => client?.ok === true || server?.ok === true).length;
  assert.ok(accepted > 50 && accepted < texts.length - 500, 'the corpus holds both valid and broken frames');
  for (const [index, text] of texts.entries()) {
    assert.deepEqual(browser.results[index], JSON.parse(JSON.stringify(node[index])), text.slice(0, 200));
  }
});
