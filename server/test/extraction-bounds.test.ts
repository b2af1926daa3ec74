// Hostile attachments against a real gateway and worker: a 1.6 MB PDF whose content stream inflates to 1.5 GiB (pdf.js
// inflates outside V8's heap limit) fails its own request with a clear error, the model is never called, the server's
// memory stays put, the extraction children stay under their bound, and another user's chat completes meanwhile.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { ChatErrorFrame } from '@chrome-plus/protocol';
import { cleanupPrefix, type FakeOpenAI, makeDocx, startFakeOpenAI, testPrefix } from '@chrome-plus/testkit';
import { makeInflatingPdf } from './fixtures/inflating-pdf.ts';
import { chatSend, startTestApp, TestClient, testEnv } from './harness.ts';

const MIB = 1_048_576;

/** This process's extraction children and their resident memory, where /proc says so. */
function childrenRss(): Map<number, number> {
  const sizes = new Map<number, number>();
  try {
    for (const task of readdirSync('/proc/self/task')) {
      for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/)) {
        if (pid === '' || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('extract-child')) continue;
        const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (rss !== null) sizes.set(Number(pid), Number(rss[1]) * 1024);
      }
    }
  } catch {
    // a child that just exited, or no /proc: this sample sees fewer children
  }
  return sizes;
}

/** Samples this process's RSS and its children's until stopped: the peaks, and the most children at once. */
function watchMemory() {
  const start = process.memoryUsage().rss;
  let peak = start;
  let childPeak = 0;
  let mostChildren = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    const children = childrenRss();
    mostChildren = Math.max(mostChildren, children.size);
    for (const rss of children.values()) childPeak = Math.max(childPeak, rss);
  }, 20);
  return () => {
    clearInterval(timer);
    return { start, growth: peak - start, childPeak, mostChildren };
  };
}

describe('extraction bounds', () => {
  const prefix = testPrefix('extract-bounds');
  let fake: FakeOpenAI;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let base: string;
  let ana: TestClient;
  let bo: TestClient;
  const bomb = makeInflatingPdf(1536);

  before(async () => {
    fake = await startFakeOpenAI();
    app = await startTestApp(
      'all',
      testEnv(prefix, {
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'k',
        OPENAI_MODEL: 'text-model',
        AUTH_TOKENS: 'ana:ana-token-123,bo:bo-token-4567',
        MAX_UPLOAD_BYTES: String(4 * MIB),
        MAX_USER_STORAGE_BYTES: String(32 * MIB),
        EXTRACT_MEMORY_MB: '256',
        EXTRACT_CONCURRENCY: '2',
        // Long enough that a slow machine still fails these files for their memory, not their time.
        EXTRACT_TIMEOUT_MS: '120000',
      }),
    );
    base = app.url.replace('ws://', 'http://').replace('/v1/ws', '');
    ana = await TestClient.open(app.url, 'ana-token-123');
    bo = await TestClient.open(app.url, 'bo-token-4567');
  });

  after(async () => {
    ana.close();
    bo.close();
    await app.close();
    await fake.close();
    await cleanupPrefix(prefix);
  });

  async function upload(name: string, type: string, data: Buffer): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([data], { type }), name);
    const response = await fetch(`${base}/v1/files`, {
      method: 'POST',
      body: form,
      headers: { authorization: 'Bearer ana-token-123' },
    });
    const body = (await response.json()) as { fileId?: string };
    assert.equal(response.status, 201, JSON.stringify(body));
    return String(body.fileId);
  }

  /** Ana sends the files; Bo chats meanwhile. Returns Ana's terminal event, whether Bo's chat ended first, memory. */
  async function attack(id: string, fileIds: string[]) {
    const stop = watchMemory();
    const calls = fake.requests.length;
    ana.send(
      chatSend(id, 'Summarise these', {
        messages: [
          { role: 'user', content: 'Summarise these', attachments: fileIds.map((fileId) => ({ fileId })) },
        ],
      }),
    );
    bo.send(chatSend(`${id}-bo`, 'hello while a bomb goes off'));
    const boEvents = await bo.untilEnd(`${id}-bo`, 60_000);
    const anaEvents = await ana.untilEnd(id, 240_000);
    const memory = stop();
    console.log(
      `${id}: server RSS ${Math.round(memory.start / MIB)} MiB, grew ${Math.round(memory.growth / MIB)} MiB; ` +
        `largest extraction child ${Math.round(memory.childPeak / MIB)} MiB; children at once ${memory.mostChildren}`,
    );
    return {
      last: anaEvents.at(-1) as ChatErrorFrame,
      boLast: boEvents.at(-1),
      modelCalls: fake.requests.length - calls,
      memory,
    };
  }

  function assertBounded(outcome: Awaited<ReturnType<typeof attack>>, name: string): void {
    assert.equal(outcome.boLast?.type, 'chat.done', "another user's chat completes meanwhile");
    assert.equal(outcome.last.type, 'chat.error');
    assert.equal(outcome.last.code, 'bad_request');
    assert.match(
      outcome.last.message,
      new RegExp(`could not read "${name}": reading it needed more than 256 MB`),
    );
    assert.equal(outcome.modelCalls, 1, "only Bo's chat reached the model");
    assert.ok(outcome.memory.growth < 300 * MIB, `the server grew ${outcome.memory.growth / MIB} MiB`);
    // Unbounded, one such child reaches 2.6 GB. Bounded: its start-up (under tsx, ~300 MB) plus 256 MB at most.
    assert.ok(outcome.memory.childPeak < 1024 * MIB, `a child reached ${outcome.memory.childPeak / MIB} MiB`);
    assert.ok(outcome.memory.mostChildren <= 2, `${outcome.memory.mostChildren} children at once`);
  }

  test('a PDF that inflates to 1.5 GiB fails its own request only, within the memory bound', async () => {
    const fileId = await upload('inflating.pdf', 'application/pdf', bomb);
    assertBounded(await attack('bomb-1', [fileId]), 'inflating.pdf');
  });

  test('three of them in one message: the same bound, two extractions at a time', async () => {
    const fileIds = [
      await upload('first.pdf', 'application/pdf', bomb),
      await upload('second.pdf', 'application/pdf', bomb),
      await upload('third.pdf', 'application/pdf', bomb),
    ];
    assertBounded(await attack('bomb-3', fileIds), '(first|second|third).pdf');
  });

  test('after the attacks, an honest file still reads', async () => {
    const fileId = await upload(
      'letter.docx',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      await makeDocx(['Still readable.']),
    );
    ana.send(
      chatSend('after-bombs', 'read it', {
        messages: [{ role: 'user', content: 'read it', attachments: [{ fileId }] }],
      }),
    );
    const events = await ana.untilEnd('after-bombs', 60_000);
    assert.equal(events.at(-1)?.type, 'chat.done');
    const messages = fake.requests.at(-1)?.body?.messages as { content: unknown }[] | undefined;
    const content = String(messages?.[0]?.content);
    assert.match(content, /Still readable\./);
  });
});

test('extractText: a time-out stops the child; an abort while waiting for a slot ends the wait', async () => {
  const { extractText } = await import('../src/files/extract.ts');
  const limits = { timeoutMs: 60_000, maxMemoryMb: 128, concurrency: 1 };
  const data = new TextEncoder().encode('hello');
  await assert.rejects(
    extractText({ kind: 'text', data }, { timeoutMs: 1, maxMemoryMb: 64 }),
    /took longer than/,
  );
  const running = extractText({ kind: 'text', data }, limits);
  const controller = new AbortController();
  const waiting = extractText({ kind: 'text', data }, limits, controller.signal);
  controller.abort(new Error('the request was cancelled'));
  await assert.rejects(waiting, /the request was cancelled/);
  assert.equal(await running, 'hello');
});
