// Syntax highlighting, loaded after the panel starts: highlight.js is a chunk of its own that the panel
// requests at start and never waits for. In the built extension it must load under the pages' CSP and
// highlight answers; code rendered before it arrives is shown as plain text and highlighted in place.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeOpenAI, repoRoot } from '@chrome-plus/testkit';
import { build } from 'esbuild';
import {
  type Backend,
  chromiumAvailable,
  type ExtensionBrowser,
  lastAnswer,
  launchExtension,
  sendMessage,
  startBackend,
  waitForStatus,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';

let backend: Backend;
let fake: FakeOpenAI;
let browser: ExtensionBrowser;

before(async () => {
  if (skip) return;
  backend = await startBackend('fake');
  fake = backend.fake!;
  browser = await launchExtension();
  await browser.configureServer(backend.url);
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

test('the panel loads highlight.js as a chunk of its own, under its CSP, and highlights answers', {
  skip,
}, async () => {
  const page = await browser.openPanel();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  await page
    .locator('[data-testid="connection-status"][data-state="connected"]')
    .waitFor({ timeout: 15_000 });
  fake.enqueue({
    type: 'answer',
    pieces: [
      'Here:\n\n',
      '```ts\nconst answer: number = 42;\n',
      '```\n\nand:\n\n',
      '```css\na { color: red; }\n```\n',
    ],
    tokenIntervalMs: 5,
  });
  await sendMessage(page, 'Some code, please.');
  const answer = lastAnswer(page);
  await waitForStatus(answer, 'done');
  await answer.locator('code.language-ts .hljs-keyword', { hasText: 'const' }).waitFor();
  await answer.locator('code.language-css .hljs-selector-tag', { hasText: 'a' }).waitFor();
  assert.equal(await answer.getByTestId('copy-code').count(), 2, 'each code block keeps its copy button');

  // The highlighting came from the chunk: the panel's script has no highlight.js, only the import() of it.
  const sidepanel = await page.evaluate(() => fetch('/sidepanel.js').then((response) => response.text()));
  const chunk = /import\("\.\/(highlight-[A-Z0-9]+\.js)"\)/.exec(sidepanel)?.[1];
  assert.ok(chunk, 'sidepanel.js imports highlight.js with import()');
  assert.ok(!sidepanel.includes('registerLanguage'), 'sidepanel.js holds no highlight.js');
  const highlightChunk = await page.evaluate(
    (path) => fetch(path).then((response) => response.text()),
    chunk,
  );
  assert.ok(highlightChunk.includes('registerLanguage'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('code rendered before highlight.js arrives is plain text, then highlighted in place', {
  skip,
}, async () => {
  // The renderer as the panel runs it, built so that import() resolves a turn later: the panel's first
  // renders happen synchronously, before that, as they may in the panel before the chunk arrives.
  const bundle = await build({
    stdin: {
      contents: `
        import { StreamingMarkdown } from './streaming-markdown.ts';
        const decorate = (element) => { element.dataset.decorated = String(Number(element.dataset.decorated ?? 0) + 1); };
        const finished = new StreamingMarkdown({ decorate });
        finished.reset('\`\`\`ts\\nconst answer: number = 42;\\n\`\`\`\\n\\nSafe:\\n\\n\`\`\`html\\n<img src=x onerror="window.__xss=1">\\n\`\`\`\\n\\nThe end.');
        const open = new StreamingMarkdown({ decorate });
        open.reset('Streaming:\\n\\n\`\`\`python\\ndef f():\\n    return 1\\n');
        finished.element.id = 'finished';
        open.element.id = 'open';
        document.body.append(finished.element, open.element);
        window.early = { finished: finished.element.innerHTML, open: open.element.innerHTML };
      `,
      resolveDir: join(repoRoot, 'extension/src/render'),
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome116',
    logLevel: 'silent',
  });
  const page = await browser.context.newPage();
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });

  const early = await page.evaluate(() => (window as unknown as { early: Record<string, string> }).early);
  for (const html of Object.values(early)) assert.doesNotMatch(html, /hljs-/, 'nothing highlighted yet');
  assert.match(early.finished ?? '', /const answer: number = 42;/, 'the code shows, as text');
  assert.match(early.finished ?? '', /&lt;img src=x onerror=/, 'escaped');

  await page.locator('#finished code.language-ts .hljs-keyword', { hasText: 'const' }).waitFor();
  await page.locator('#open code.language-python .hljs-keyword', { hasText: 'def' }).waitFor();
  await page.locator('#finished code.language-html .hljs-tag').first().waitFor();
  const codeTexts = await page.locator('#finished code').allTextContents();
  assert.deepEqual(codeTexts, ['const answer: number = 42;', '<img src=x onerror="window.__xss=1">']);
  assert.equal(
    await page.locator('img, [onerror]').count(),
    0,
    'highlighted HTML went through the sanitizer',
  );
  assert.equal(await page.evaluate(() => (window as { __xss?: unknown }).__xss), undefined);
  // Blocks without code are rendered once; the highlighted ones were decorated again (copy buttons).
  assert.deepEqual(
    await page
      .locator('#finished > .block')
      .evaluateAll((blocks) =>
        blocks.map((block) => [
          block.querySelector('code')?.className ?? block.textContent?.trim(),
          (block as HTMLElement).dataset.decorated,
        ]),
      ),
    [
      ['hljs language-ts', '2'],
      ['Safe:', '1'],
      ['hljs language-html', '2'],
      ['The end.', '1'],
    ],
  );
  await page.close();
});
