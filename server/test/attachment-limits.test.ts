// What one request may attach: references and distinct files are capped per request and refused at the gateway
// before anything is enqueued; a file named again is put in the prompt once; the request's files share one budget.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChatErrorFrame, ServerFrame } from '@chrome-plus/protocol';
import { cleanupPrefix, type FakeOpenAI, makePng, startFakeOpenAI, testPrefix } from '@chrome-plus/testkit';
import { assertWellFormed, startTestApp, TestClient, testEnv, uploadFile } from './harness.ts';

const TOKEN = 'ana-token-123';

describe('attachment limits per request', () => {
  const prefix = testPrefix('attlim');
  let fake: FakeOpenAI;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let client: TestClient;

  before(async () => {
    fake = await startFakeOpenAI();
    app = await startTestApp(
      'all',
      testEnv(prefix, {
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'k',
        OPENAI_MODEL: 'text-model,vision-model',
        VISION_MODELS: 'vision-model',
        AUTH_TOKENS: `ana:${TOKEN}`,
        ATTACHMENT_MAX_CHARS: '2000',
        ATTACHMENT_MAX_CHARS_PER_REQUEST: '3000',
        MAX_IMAGE_BYTES_PER_REQUEST: '1024',
      }),
    );
    client = await TestClient.open(app.url, TOKEN);
  });

  after(async () => {
    client.close();
    await app.close();
    await fake.close();
    await cleanupPrefix(prefix);
  });

  async function upload(name: string, type: string, data: Buffer | string): Promise<string> {
    const { status, body } = await uploadFile(app.url, TOKEN, name, type, data);
    assert.equal(status, 201, JSON.stringify(body));
    return String(body.fileId);
  }

  function send(id: string, messages: unknown[], model = 'text-model'): void {
    client.send({ type: 'chat.send', id, model, messages });
  }

  function refusalOf(id: string): Promise<ChatErrorFrame> {
    return client.next(
      (frame: ServerFrame): frame is ChatErrorFrame =>
        frame.type === 'chat.error' && frame.id === id && frame.seq === undefined,
    );
  }

  test('one file named 16,000 times is refused at the gateway: nothing enqueued, the model not called', async () => {
    const fileId = await upload('big.txt', 'text/plain', 'x'.repeat(1000));
    const messages = Array.from({ length: 1000 }, () => ({
      role: 'user',
      content: 'again',
      attachments: Array.from({ length: 16 }, () => ({ fileId })),
    }));
    const calls = fake.requests.length;
    send('amplify', messages);
    const refusal = await refusalOf('amplify');
    assert.equal(refusal.code, 'too_large');
    assert.match(refusal.message, /at most 64 attachments .* names 16000/);
    assert.equal(refusal.retryable, false);
    // Nothing was claimed: the id is unknown to the server.
    client.send({ type: 'chat.resume', id: 'amplify', after: 0 });
    const resumed = await client.next(
      (frame) => frame.type === 'chat.error' && frame.id === 'amplify' && frame.code === 'not_found',
    );
    assert.ok(resumed);
    assert.equal(fake.requests.length, calls, 'the model was never called');
  });

  test('more distinct files than allowed are refused before any is looked up', async () => {
    const attachments = Array.from({ length: 33 }, (_, index) => ({ fileId: `f_never-uploaded-${index}` }));
    send('many-files', [
      { role: 'user', content: 'a', attachments: attachments.slice(0, 16) },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c', attachments: attachments.slice(16, 32) },
      { role: 'assistant', content: 'd' },
      { role: 'user', content: 'e', attachments: attachments.slice(32) },
    ]);
    const refusal = await refusalOf('many-files');
    assert.equal(refusal.code, 'too_large', 'the count, not a lookup (which would say not_found)');
    assert.match(refusal.message, /at most 32 different files .* has 33/);
  });

  test('a file named in several messages reaches the model once', async () => {
    const fileId = await upload('notes.txt', 'text/plain', 'UNIQUE-MARKER-7781 the meeting is at noon');
    const messages = [];
    for (let turn = 0; turn < 5; turn++) {
      messages.push({ role: 'user', content: `question ${turn}`, attachments: [{ fileId }, { fileId }] });
      if (turn < 4) messages.push({ role: 'assistant', content: `answer ${turn}` });
    }
    const calls = fake.requests.length;
    send('repeats', messages);
    const events = await client.untilEnd('repeats');
    assertWellFormed(events);
    assert.equal(events.at(-1)?.type, 'chat.done');
    const body = JSON.stringify(fake.requests[calls]?.body?.messages);
    assert.equal(body.split('UNIQUE-MARKER-7781').length - 1, 1, 'the text once');
    assert.equal(body.split('is attached again').length - 1, 9, 'and a pointer for each other reference');
  });

  test('the files of one request share one character budget, with visible notes', async () => {
    const ids = [
      await upload('a.txt', 'text/plain', `AAA ${'a'.repeat(1500)}`),
      await upload('b.txt', 'text/plain', `BBB ${'b'.repeat(1500)}`),
      await upload('c.txt', 'text/plain', `CCC ${'c'.repeat(1500)}`),
    ];
    const calls = fake.requests.length;
    send('budget', [{ role: 'user', content: 'read', attachments: ids.map((fileId) => ({ fileId })) }]);
    const events = await client.untilEnd('budget');
    assert.equal(events.at(-1)?.type, 'chat.done');
    const messages = fake.requests[calls]?.body?.messages as { content: string }[];
    const content = messages[0]!.content;
    assert.ok(content.includes('AAA'), 'the first file whole');
    assert.match(content, /the text of "b.txt" was cut to \d+ of its \d+ characters/);
    assert.ok(content.includes('"c.txt" was left out'), 'the third left out, and said so');
    assert.ok(content.length < 3000 + 600, `the prompt stays within the budget (${content.length})`);
  });

  test('images past the per-request byte budget are refused at the gateway', async () => {
    const small = await upload('small.png', 'image/png', makePng(4, 4));
    const large = await upload('large.png', 'image/png', Buffer.concat([makePng(), Buffer.alloc(2000)]));
    const calls = fake.requests.length;
    send(
      'images',
      [{ role: 'user', content: 'look', attachments: [{ fileId: small }, { fileId: large }] }],
      'vision-model',
    );
    const refusal = await refusalOf('images');
    assert.equal(refusal.code, 'too_large');
    assert.match(refusal.message, /images of this request add up to \d+ bytes; at most 1024/);
    assert.equal(fake.requests.length, calls);
  });
});
