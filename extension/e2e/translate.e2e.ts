// Bilingual page translation in a real Chromium: the panel's button translates a local page of many paragraphs,
// one translation under each paragraph, in order, its batches taken by two worker processes (their job logs say
// which); code, navigation and formulas are left alone; the toggle hides and shows them; a second run comes from
// the cache without a request; the context menu's entry does the same; and the panel speaks Chinese.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { REDIS_URL, type RecordedRequest, type RoleProcess, startRole } from '@chrome-plus/testkit';
import type { Page } from 'playwright-core';
import {
  type Backend,
  chromiumAvailable,
  type ExtensionBrowser,
  launchExtension,
  openPageAndPanel,
  type Site,
  screenshotPath,
  serveSite,
  startBackend,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';
const PARAGRAPHS = 60;

function pageHtml(): string {
  const paragraphs = Array.from(
    { length: PARAGRAPHS },
    (_, index) => `<p>Paragraph number ${index} tells part ${index} of the story.</p>`,
  ).join('\n');
  return `<!doctype html><html><head><title>A long story</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About NAV-LINK</a></nav>
<h1>The long story</h1>
<pre><code>const CODE_MARKER = 1;</code></pre>
<p>Energy is <math><mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></math> in short.</p>
${paragraphs}
<footer>FOOTER-MARKER</footer>
</body></html>`;
}

/** The messages a request sent the model. */
function messagesOf(request: RecordedRequest): { role: string; content: unknown }[] {
  return (request.body?.messages ?? []) as { role: string; content: unknown }[];
}

/** The fake model translates each marked block: "[[n]] text" becomes "[[n]] 译文 n：text". */
function translate(request: RecordedRequest) {
  const messages = messagesOf(request);
  const system = messages[0]?.content;
  if (typeof system !== 'string' || !system.startsWith('You translate web page text')) return undefined;
  const user = String(messages.at(-1)?.content ?? '');
  const pieces = [...user.matchAll(/\[\[(\d+)\]\] (.*)/g)].map(
    (match) => `[[${match[1]}]] 译文 ${match[1]}：${match[2]}\n`,
  );
  return { type: 'answer' as const, pieces, tokenIntervalMs: 20 };
}

let backend: Backend;
let secondWorker: RoleProcess;
let site: Site;
let browser: ExtensionBrowser;

before(async () => {
  if (skip) return;
  backend = await startBackend('fake', { LOG_LEVEL: 'debug' });
  backend.fake!.script(translate);
  // A second worker process on the same queue: the page's batches spread over both.
  secondWorker = await startRole(
    'worker',
    {
      HOST: '127.0.0.1',
      REDIS_URL,
      KEY_PREFIX: backend.prefix,
      AUTH_TOKENS: '',
      LOG_LEVEL: 'debug',
      MAX_CONCURRENT_GENERATIONS: '20',
      OPENAI_BASE_URL: backend.fake!.url,
      OPENAI_API_KEY: 'test-key',
      OPENAI_MODEL: 'fake-model',
    },
    { logLevel: 'debug' },
  );
  site = await serveSite({ '/story': pageHtml() });
  browser = await launchExtension();
  await browser.configureServer(backend.url);
});

after(async () => {
  if (skip) return;
  await browser?.close();
  await site?.close();
  await secondWorker?.kill();
  await backend?.stop();
});

async function translations(page: Page): Promise<{ index: string | null; text: string; hidden: boolean }[]> {
  return page.$$eval('[data-chrome-plus-translation]', (elements) =>
    elements.map((element) => ({
      index: element.getAttribute('data-chrome-plus-translation'),
      text: element.textContent ?? '',
      hidden: (element as HTMLElement).hidden,
    })),
  );
}

const translationRequests = () =>
  backend.fake!.requests.filter((request) =>
    String(messagesOf(request)[0]?.content ?? '').startsWith('You translate web page text'),
  );

test('translating a page: one translation under every paragraph, in order, by two workers; code and navigation untouched', {
  skip,
}, async () => {
  const { page: story, panel } = await openPageAndPanel(browser, `${site.url}/story`);
  await panel.getByTestId('translate-page').click();
  await panel.locator('[data-testid="translate-bar"][data-state="finished"]').waitFor({ timeout: 30_000 });

  const shown = await translations(story);
  // The heading, the formula's paragraph and the 60 paragraphs: 62 blocks, each translated once.
  assert.equal(shown.length, PARAGRAPHS + 2, 'one translation per readable block');
  const paragraphTranslations = await story.$$eval('p', (elements) =>
    elements.map((element) => element.querySelectorAll('[data-chrome-plus-translation]').length),
  );
  assert.ok(
    paragraphTranslations.every((count) => count === 1),
    'every paragraph has exactly one',
  );
  const inOrder = shown.map((entry) => Number(entry.index));
  assert.deepEqual(
    inOrder,
    [...inOrder].sort((left, right) => left - right),
    'in reading order on the page',
  );
  const texts = await story.$$eval('p', (elements) =>
    elements.slice(1).map((element) => element.querySelector('[data-chrome-plus-translation]')?.textContent),
  );
  for (const [index, text] of texts.entries())
    assert.match(text ?? '', new RegExp(`^译文 \\d+：Paragraph number ${index} tells part ${index}`));
  assert.equal(
    await story
      .locator(
        'nav [data-chrome-plus-translation], pre [data-chrome-plus-translation], math [data-chrome-plus-translation], footer [data-chrome-plus-translation]',
      )
      .count(),
    0,
  );
  assert.match(
    (await panel.getByTestId('translate-status').textContent()) ?? '',
    new RegExp(`${PARAGRAPHS + 2} of ${PARAGRAPHS + 2}`),
  );

  // Batches went to both workers: each one's job log names requests it took.
  const batches = translationRequests().length;
  assert.ok(batches >= 4, `the page went out in several batches (${batches})`);
  const jobsOf = (output: string) =>
    output.split('\n').filter((line) => line.includes('"job started"')).length;
  const first = jobsOf(backend.logs().split('--- gateway ---')[0] ?? '');
  const second = jobsOf(secondWorker.output());
  assert.ok(first > 0 && second > 0, `both workers translated (${first} and ${second} batches)`);

  // The toggle hides them and shows them again.
  await panel.getByTestId('translate-toggle').click();
  await story.waitForFunction(() =>
    [...document.querySelectorAll<HTMLElement>('[data-chrome-plus-translation]')].every(
      (element) => element.hidden,
    ),
  );
  await panel.getByTestId('translate-toggle').click();
  await story.waitForFunction(() =>
    [...document.querySelectorAll<HTMLElement>('[data-chrome-plus-translation]')].every(
      (element) => !element.hidden,
    ),
  );
  await story.screenshot({ path: screenshotPath('translate-page.png') });

  // Again on a fresh copy of the page: every batch from the cache, no request.
  const before = translationRequests().length;
  await story.reload();
  await panel.getByTestId('translate-page').click();
  await panel.locator('[data-testid="translate-bar"][data-state="finished"]').waitFor({ timeout: 30_000 });
  assert.equal((await translations(story)).length, PARAGRAPHS + 2);
  assert.equal(translationRequests().length, before, 'a page translated before comes from the cache');
  await panel.close();
  await story.close();
});

test('the page context menu translates the page in the panel', { skip }, async () => {
  const { page: story, panel } = await openPageAndPanel(browser, `${site.url}/story`);
  const windowId = await browser.serviceWorker.evaluate(async () => (await chrome.windows.getCurrent()).id);
  await browser.serviceWorker.evaluate(
    (id) =>
      (
        globalThis as unknown as {
          chromePlusBackground: { translatePage(tab: { windowId: number }): Promise<void> };
        }
      ).chromePlusBackground.translatePage({ windowId: id as number }),
    windowId,
  );
  await panel.locator('[data-testid="translate-bar"][data-state="finished"]').waitFor({ timeout: 30_000 });
  assert.equal((await translations(story)).length, PARAGRAPHS + 2);
  await panel.close();
  await story.close();
});

test("the selection's Translate shows its translation in a popup beside it, not in a chat", {
  skip,
}, async () => {
  const { page: story, panel } = await openPageAndPanel(browser, `${site.url}/story`);
  const selection = 'Paragraph number 7 tells part 7 of the story.';
  await story.locator('p', { hasText: selection }).first().selectText();
  const messagesBefore = await panel.getByTestId('message-user').count();
  await browser.serviceWorker.evaluate(
    async ({ text, url }) => {
      const [tab] = await chrome.tabs.query({ url });
      await (
        globalThis as unknown as {
          chromePlusBackground: {
            handleContextMenuClick(info: object, tab: chrome.tabs.Tab | undefined): Promise<void>;
          };
        }
      ).chromePlusBackground.handleContextMenuClick(
        { menuItemId: 'translate', selectionText: text, pageUrl: url },
        tab,
      );
    },
    { text: selection, url: `${site.url}/story` },
  );
  const popupText = () =>
    story.evaluate(
      () =>
        document.querySelector('[data-chrome-plus-popup]')?.shadowRoot?.querySelector('.text')?.textContent ??
        '',
    );
  await story.waitForFunction(() => {
    const text = document.querySelector('[data-chrome-plus-popup]')?.shadowRoot?.querySelector('.text');
    return text !== null && text !== undefined && !text.classList.contains('pending');
  });
  // The page above was translated: this paragraph's translation comes from the cache, numbered as it was there.
  assert.match(await popupText(), /^译文 \d+：Paragraph number 7 tells part 7 of the story\.$/);
  assert.equal(await panel.getByTestId('message-user').count(), messagesBefore, 'no chat message was sent');
  await story.keyboard.press('Escape');
  await story.waitForFunction(() => document.querySelector('[data-chrome-plus-popup]') === null);
  await panel.close();
  await story.close();
});
