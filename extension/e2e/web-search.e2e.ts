// Web search in Chromium against the real gateway, worker and Redis, with a fake SearXNG: the toggle shows only where
// the server can search, an answer about this page with web results cites numbered sources shown as safe links, and
// a failed search says so. Dark mode and Simplified Chinese are screenshot once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeSearch, type RecordedRequest, startFakeSearch } from '@chrome-plus/testkit';
import type { Page } from 'playwright-core';
import {
  answerText,
  type Backend,
  chromiumAvailable,
  connectedPanel,
  type ExtensionBrowser,
  lastAnswer,
  launchExtension,
  type Site,
  screenshotPath,
  sendMessage,
  serveSite,
  startBackend,
  waitForStatus,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';

let backend: Backend;
let search: FakeSearch;
let browser: ExtensionBrowser;
let site: Site;
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  site = await serveSite({
    '/lighthouse': `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Skerryvore Lighthouse</title></head>
<body><main><article><h1>Skerryvore Lighthouse</h1>
<p>PAGE-MARKER The lighthouse stands on a reef twelve miles out in the Atlantic; building it took six summers.</p>
<p>Its keepers worked in watches of four hours and kept the light burning through every storm.</p>
</article></main></body></html>`,
  });
  search = await startFakeSearch();
  backend = await startBackend('fake', { SEARXNG_URL: search.url, SEARCH_TIMEOUT_MS: '1500' });
  browser = await launchExtension();
  await browser.configureServer(backend.url);
});

after(async () => {
  await browser?.close();
  await backend?.stop();
  await search?.close();
  await site?.close();
});

function openConnectedPanel(): Promise<Page> {
  return connectedPanel(browser, pageErrors);
}

function chatRequests(): RecordedRequest[] {
  return backend.fake!.requests.filter((request) => request.path.endsWith('/chat/completions'));
}

function lastUserContent(request: RecordedRequest | undefined): string {
  const messages = (request?.body?.messages ?? []) as { role: string; content: unknown }[];
  const last = messages.findLast((message) => message.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

test('an answer about this page with web results: numbered sources in the prompt, safe links under it', {
  skip,
}, async () => {
  const article = await browser.context.newPage();
  await article.goto(`${site.url}/lighthouse`);
  const panel = await openConnectedPanel();
  const toggle = panel.getByTestId('web-search-toggle');
  await toggle.waitFor({ state: 'visible' });
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');

  search.enqueue({
    type: 'results',
    results: [
      {
        url: 'https://history.example/skerryvore',
        title: 'Skerryvore: a history',
        content: 'Built 1838-1844.',
      },
      { url: 'javascript:alert(1)', title: 'not a link' },
      { url: 'https://lights.example/keepers', title: 'The keepers', content: 'Relieved every fortnight.' },
    ],
  });
  backend.fake!.enqueue({ type: 'answer', pieces: ['It was built 1838-1844 [1]; ', 'keepers rotated [2].'] });
  const before = chatRequests().length;
  const searches = search.requests.length;
  await article.bringToFront();
  await panel.getByTestId('ask-page').click();
  await panel.getByTestId('composer-context').getByTestId('message-context').waitFor();
  await sendMessage(panel, 'When was it built?');
  const answer = lastAnswer(panel);
  await waitForStatus(answer, 'done');
  assert.equal(await answerText(answer), 'It was built 1838-1844 [1]; keepers rotated [2].');

  // The search: the user's words and the page's title.
  assert.equal(search.requests.length, searches + 1);
  assert.equal(search.requests.at(-1)?.query, 'When was it built? Skerryvore Lighthouse');
  // The model: the question, the page, then the numbered results, in one message.
  const prompt = lastUserContent(chatRequests()[before]);
  assert.ok(prompt.startsWith('When was it built?'), prompt);
  assert.ok(prompt.includes('PAGE-MARKER'), 'the page is in the message');
  assert.ok(prompt.indexOf('[1] Skerryvore: a history') > prompt.indexOf('PAGE-MARKER'), 'then the results');
  assert.ok(prompt.includes('[2] The keepers\nURL: https://lights.example/keepers'));
  assert.ok(!prompt.includes('javascript:'), 'a javascript: result never reaches the model');

  // The panel: the sources as numbered links that open safely, nothing else.
  const sources = answer.getByTestId('web-source');
  assert.equal(await sources.count(), 2);
  const first = sources.nth(0).locator('a');
  assert.equal(await first.getAttribute('href'), 'https://history.example/skerryvore');
  assert.equal(await first.getAttribute('rel'), 'noopener noreferrer');
  assert.equal(await first.getAttribute('target'), '_blank');
  assert.equal(
    (await sources.nth(0).textContent())?.replace(/\s+/g, ' '),
    '[1]Skerryvore: a historyhistory.example',
  );
  assert.equal(await sources.nth(1).locator('.web-source-number').textContent(), '[2]');
  await panel.screenshot({ path: screenshotPath('web-search.png') });

  // The sources are kept with the answer: reopening the panel shows them again.
  await panel.reload();
  await panel
    .locator('[data-testid="connection-status"][data-state="connected"]')
    .waitFor({ timeout: 15_000 });
  assert.equal(await lastAnswer(panel).getByTestId('web-source').count(), 2);
  assert.deepEqual(pageErrors, []);
  await panel.close();
  await article.close();
});

test('a failed search: the answer still comes, and the panel says the search failed', { skip }, async () => {
  const panel = await openConnectedPanel();
  const toggle = panel.getByTestId('web-search-toggle');
  await toggle.waitFor({ state: 'visible' });
  if ((await toggle.getAttribute('aria-pressed')) !== 'true') await toggle.click();
  search.enqueue({ type: 'status', status: 502 });
  backend.fake!.enqueue({ type: 'answer', pieces: ['I could not search the web, but here is what I know.'] });
  await sendMessage(panel, 'Any news today?');
  const answer = lastAnswer(panel);
  await waitForStatus(answer, 'done');
  const note = answer.getByTestId('web-sources-note');
  await note.waitFor();
  assert.match((await note.textContent()) ?? '', /web search failed/);
  assert.equal(await answer.getByTestId('web-source').count(), 0);
  // Turned off, the next message searches nothing.
  await toggle.click();
  const searches = search.requests.length;
  await sendMessage(panel, 'And without searching?');
  await waitForStatus(lastAnswer(panel), 'done');
  assert.equal(search.requests.length, searches);
  assert.equal(await lastAnswer(panel).getByTestId('web-sources').isVisible(), false);
  await panel.close();
});

test('in Chinese and dark mode, on a server without search: no toggle', { skip }, async () => {
  const plain = await startBackend('demo');
  const zh = await launchExtension({ locale: 'zh-CN', colorScheme: 'dark' });
  try {
    await zh.configureServer(plain.url);
    const panel = await zh.openPanel();
    await panel
      .locator('[data-testid="connection-status"][data-state="connected"]')
      .waitFor({ timeout: 15_000 });
    assert.equal(await panel.getByTestId('web-search-toggle').isVisible(), false);
    await zh.configureServer(backend.url);
    const toggle = panel.getByTestId('web-search-toggle');
    await toggle.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match((await toggle.getAttribute('aria-label')) ?? '', /联网搜索/);
    await toggle.click();
    search.enqueue({
      type: 'results',
      results: [{ url: 'https://example.cn/a', title: '灯塔的历史', content: '1844 年建成。' }],
    });
    backend.fake!.enqueue({ type: 'answer', pieces: ['1844 年建成 [1]。'] });
    await sendMessage(panel, '灯塔是哪年建成的？');
    const answer = lastAnswer(panel);
    await waitForStatus(answer, 'done');
    assert.equal(await answer.locator('.web-sources-heading').textContent(), '来源');
    assert.equal(await answer.getByTestId('web-source').count(), 1);
    await panel.screenshot({ path: screenshotPath('web-search-zh-dark.png') });
  } finally {
    await zh.close();
    await plain.stop();
  }
});
