// Attachments end to end: upload to the gateway, extraction in the worker, what reaches the model; bad files refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChatErrorFrame } from '@chrome-plus/protocol';
import {
  cleanupPrefix,
  type FakeOpenAI,
  makeDocx,
  makePdf,
  makePng,
  makeZipBombDocx,
  startFakeOpenAI,
  testPrefix,
} from '@chrome-plus/testkit';
import { chromePlusExtensionOrigin } from '../src/gateway/origin.ts';
import { assertWellFormed, chatSend, startTestApp, TestClient, testEnv, uploadFile } from './harness.ts';

const TOKENS = 'ana:ana-token-123,bo:bo-token-4567';

describe('attachments', () => {
  const prefix = testPrefix('files');
  let fake: FakeOpenAI;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let base: string;
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
        AUTH_TOKENS: TOKENS,
        MAX_UPLOAD_BYTES: String(512 * 1024),
        MAX_USER_STORAGE_BYTES: String(2 * 1024 * 1024),
        ATTACHMENT_MAX_CHARS: '2000',
      }),
    );
    base = app.url.replace('ws://', 'http://').replace('/v1/ws', '');
    client = await TestClient.open(app.url, 'ana-token-123');
  });

  after(async () => {
    client.close();
    await app.close();
    await fake.close();
    await cleanupPrefix(prefix);
  });

  function upload(name: string, type: string, data: Buffer | string, token = 'ana-token-123') {
    return uploadFile(app.url, token, name, type, data);
  }

  /** Sends one message with the files; returns the request's events and the messages that reached the model. */
  async function ask(id: string, fileIds: string[], model = 'text-model') {
    const before = fake.requests.length;
    client.send(
      chatSend(id, 'What do these say?', {
        model,
        messages: [
          { role: 'user', content: 'What do these say?', attachments: fileIds.map((fileId) => ({ fileId })) },
        ],
      }),
    );
    const events = await client.untilEnd(id, 20_000);
    assertWellFormed(events);
    const request = fake.requests.slice(before).at(-1);
    return {
      events,
      last: events.at(-1)!,
      messages: request?.body?.messages as { role: string; content: unknown }[] | undefined,
    };
  }

  test('PDF, DOCX, HTML, CSV, Markdown and code reach the model as text under their names', async () => {
    const files = [
      await upload('report.pdf', 'application/pdf', makePdf(['Quarterly revenue grew 42 percent.'])),
      await upload(
        'letter.docx',
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        await makeDocx(['Dear team, the launch is on Friday.']),
      ),
      await upload(
        'page.html',
        'text/html',
        '<html><head><script>stealCookies()</script><style>p{}</style></head><body><nav>Home | About</nav><h1>Release notes</h1><p>Version 2 adds dark mode.</p></body></html>',
      ),
      await upload('sales.csv', 'text/csv', 'region,amount\nnorth,120\nsouth,95\n'),
      await upload('notes.md', 'text/markdown', '# Notes\n\n- remember the milk\n'),
      await upload('main.py', 'text/x-python', 'print("hello from python")\n'),
    ];
    for (const file of files) assert.equal(file.status, 201, JSON.stringify(file.body));
    assert.deepEqual(files[0]?.body.type, 'application/pdf');
    assert.ok(typeof files[0]?.body.bytes === 'number' && (files[0].body.bytes as number) > 100);
    const { last, messages } = await ask(
      'files-1',
      files.map((file) => String(file.body.fileId)),
    );
    assert.equal(last.type, 'chat.done');
    const content = String(messages?.[0]?.content);
    for (const expected of [
      'What do these say?',
      '### Attached file: report.pdf',
      'Quarterly revenue grew 42 percent.',
      '### Attached file: letter.docx',
      'Dear team, the launch is on Friday.',
      'Version 2 adds dark mode.',
      'north,120',
      '- remember the milk',
      'print("hello from python")',
    ]) {
      assert.ok(content.includes(expected), `missing ${expected} in ${content}`);
    }
    assert.ok(
      !content.includes('stealCookies') && !content.includes('Home | About'),
      'no scripts or navigation from HTML',
    );
  });

  test('a long file is cut to the budget with a visible note', async () => {
    const long = await upload('long.txt', 'text/plain', 'word '.repeat(2000));
    const { messages } = await ask('files-long', [String(long.body.fileId)]);
    const content = String(messages?.[0]?.content);
    assert.match(content, /\[Chrome Plus: the text of "long.txt" was cut to 2000 of its \d+ characters\.\]/);
  });

  test('an image goes to a vision model as an image part, and is refused for a text-only model', async () => {
    const png = makePng();
    const image = await upload('screenshot.png', 'image/png', png);
    assert.equal(image.status, 201);
    assert.equal(image.body.type, 'image/png');
    const seen = await ask('files-image', [String(image.body.fileId)], 'vision-model');
    assert.equal(seen.last.type, 'chat.done');
    const parts = seen.messages?.[0]?.content as { type: string; image_url?: { url: string } }[];
    assert.equal(parts[0]?.type, 'text');
    assert.equal(parts[1]?.image_url?.url, `data:image/png;base64,${png.toString('base64')}`);

    const calls = fake.requests.length;
    const refused = await ask('files-image-text', [String(image.body.fileId)], 'text-model');
    const error = refused.last as ChatErrorFrame;
    assert.equal(error.code, 'bad_request');
    assert.match(error.message, /does not accept images/);
    assert.equal(fake.requests.length, calls, 'the model is not called');
  });

  test('oversized, wrong-type, empty and unauthenticated uploads are refused with clear answers', async () => {
    const big = await upload('big.txt', 'text/plain', 'x'.repeat(600 * 1024));
    assert.equal(big.status, 413);
    assert.equal(big.body.error, 'too_large');
    const exe = await upload(
      'tool.exe',
      'application/octet-stream',
      Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00]),
    );
    assert.equal(exe.status, 415);
    assert.match(String(exe.body.message), /cannot read "tool.exe"/);
    const zip = await upload(
      'archive.zip',
      'application/zip',
      Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    );
    assert.equal(zip.status, 415);
    const nobody = await upload('a.txt', 'text/plain', 'hi', 'not-a-token');
    assert.equal(nobody.status, 401);
    const noFile = await fetch(`${base}/v1/files`, {
      method: 'POST',
      body: new FormData(),
      headers: { authorization: 'Bearer ana-token-123' },
    });
    assert.equal(noFile.status, 400);
    // Nothing else was disturbed: a plain chat still works.
    client.send(chatSend('files-after-bad', 'still there?'));
    const events = await client.untilEnd('files-after-bad');
    assert.equal(events.at(-1)?.type, 'chat.done');
  });

  test('a user`s stored bytes are capped (413), per user', async () => {
    const piece = 'y'.repeat(400 * 1024);
    const statuses: number[] = [];
    for (let index = 0; index < 6; index++)
      statuses.push((await upload(`part${index}.txt`, 'text/plain', piece, 'bo-token-4567')).status);
    assert.ok(statuses.includes(201) && statuses.at(-1) === 413, statuses.join(','));
  });

  test('a truncated PDF and a zip bomb fail their own request only, with bad_request', async () => {
    const pdf = makePdf(['This PDF will be cut in half.']);
    const truncated = await upload(
      'broken.pdf',
      'application/pdf',
      pdf.subarray(0, Math.floor(pdf.length / 3)),
    );
    assert.equal(truncated.status, 201);
    const brokenAnswer = await ask('files-truncated', [String(truncated.body.fileId)]);
    if (brokenAnswer.last.type === 'chat.error')
      assert.equal((brokenAnswer.last as ChatErrorFrame).code, 'bad_request');
    else assert.equal(brokenAnswer.last.type, 'chat.done'); // pdf.js may recover some of it: then the text is what it read

    const bomb = await upload(
      'bomb.docx',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      makeZipBombDocx(300),
    );
    assert.equal(bomb.status, 201);
    const calls = fake.requests.length;
    const exploded = await ask('files-bomb', [String(bomb.body.fileId)]);
    const error = exploded.last as ChatErrorFrame;
    assert.equal(error.code, 'bad_request');
    assert.match(error.message, /bomb.docx.*expands to more than/);
    assert.equal(fake.requests.length, calls);

    client.send(chatSend('files-after-bomb', 'and now?'));
    assert.equal((await client.untilEnd('files-after-bomb')).at(-1)?.type, 'chat.done');
  });

  test('someone else`s fileId is not_found, as is an unknown one', async () => {
    const mine = await upload('mine.txt', 'text/plain', 'private notes');
    const bo = await TestClient.open(app.url, 'bo-token-4567');
    for (const fileId of [String(mine.body.fileId), 'f_doesnotexist0000000']) {
      bo.send(
        chatSend(`steal-${fileId}`, 'read it', {
          messages: [{ role: 'user', content: 'read it', attachments: [{ fileId }] }],
        }),
      );
      const error = await bo.next((frame) => frame.type === 'chat.error' && frame.id === `steal-${fileId}`);
      assert.ok(error.type === 'chat.error');
      assert.equal(error.code, 'not_found');
    }
    bo.close();
  });

  test('CORS: an allowed origin gets its preflight answered; a disallowed one gets 403', async () => {
    const preflight = await fetch(`${base}/v1/files`, {
      method: 'OPTIONS',
      headers: { origin: chromePlusExtensionOrigin, 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), chromePlusExtensionOrigin);
    for (const origin of ['https://evil.example', 'chrome-extension://abc', 'http://localhost:3000']) {
      const refused = await fetch(`${base}/v1/files`, { method: 'OPTIONS', headers: { origin } });
      assert.equal(refused.status, 403, origin);
    }
  });
});

test('extraction that takes too long fails with a clear reason, and the thread is stopped', async () => {
  const { extractText } = await import('../src/files/extract.ts');
  await assert.rejects(
    extractText({ kind: 'text', data: new TextEncoder().encode('hello') }, { timeoutMs: 1, maxMemoryMb: 64 }),
    /took longer than/,
  );
  assert.equal(
    await extractText(
      { kind: 'text', data: new TextEncoder().encode('\uFEFFhello') },
      { timeoutMs: 10_000, maxMemoryMb: 64 },
    ),
    'hello',
  );
});
