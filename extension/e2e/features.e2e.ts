// The panel's everyday features in Chromium against the real gateway, worker and Redis: this page, selections,
// attachments, history, the model picker, prompts, the keyboard and the dark theme. Writes the README's screenshots.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeOpenAI, makePdf, type RecordedRequest } from '@chrome-plus/testkit';
import type { Page } from 'playwright-core';
import {
  answerText,
  type Backend,
  chromiumAvailable,
  connectedPanel,
  type ExtensionBrowser,
  lastAnswer,
  launchExtension,
  numberedWords,
  type Site,
  screenshotPath,
  sendMessage,
  serveSite,
  startBackend,
  testResults,
  waitForStatus,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';
/** The backend's upload limit: small, so that a "too large" file is cheap to make. */
const maxUploadBytes = 200 * 1024;

let backend: Backend;
let fake: FakeOpenAI;
let browser: ExtensionBrowser;
let site: Site;
let siteUrl: string;
const pageErrors: string[] = [];

const articleParagraphs = [
  'ARTICLE-ALPHA The lighthouse on Skerryvore stands on a reef twelve miles out in the Atlantic, and for a century its keepers lived in rooms stacked one above another inside the tower.',
  'ARTICLE-BRAVO Building it took six summers. Stone was cut on the island of Mull, shaped on the shore, and carried out by boat whenever the sea allowed a landing on the rock.',
  'ARTICLE-CHARLIE The keepers worked in watches of four hours, trimming the wicks and winding the clockwork that turned the lens, so that the light never once went dark in a storm.',
  'ARTICLE-DELTA Supplies came every fortnight when the weather held. In bad winters the relief boat could not land for weeks, and the keepers rationed oil, flour and tobacco alike.',
];

function articlePage(title: string, paragraphs: readonly string[]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<script>window.tracker = "SCRIPT-MARKER-HEAD";</script>
<style>.NAV { color: red } /* STYLE-MARKER */</style></head>
<body>
<nav class="site-nav"><a href="/">NAV-MARKER Home</a> <a href="/shop">NAV-MARKER Shop</a> <a href="/about">NAV-MARKER About us</a></nav>
<header><p>HEADER-MARKER Coastal Heritage Magazine</p></header>
<main><article>
<h1>${title}</h1>
${paragraphs.map((paragraph) => `<p>${paragraph}</p>`).join('\n')}
</article></main>
<aside><h3>Related</h3><ul><li><a href="/a">ASIDE-MARKER Ten best beaches</a></li><li><a href="/b">ASIDE-MARKER Puffins</a></li></ul></aside>
<footer><p>FOOTER-MARKER © 2026 Coastal Heritage. All rights reserved.</p></footer>
<script>console.log("SCRIPT-MARKER-BODY");</script>
</body></html>`;
}

/** About 60,000 characters: over the default budget of 20,000. */
const longParagraphs = Array.from(
  { length: 300 },
  (_, index) =>
    `LONG-${index + 1} Each watch began with the log: the wind, the sea, the ships that passed, and the state of the lamp and its clockwork, written in the same careful hand.`,
);

before(async () => {
  if (skip) return;
  site = await serveSite({
    '/article': articlePage('The Lighthouse Keepers of Skerryvore', articleParagraphs),
    '/long': articlePage('The Keepers’ Logbooks', longParagraphs),
    '/logbook.pdf': {
      type: 'application/pdf',
      body: makePdf([
        'PDF-MARKER Logbook of the Skerryvore light, 1861.',
        'Fog from dawn; the bell rung all day.',
      ]),
    },
  });
  siteUrl = site.url;
  backend = await startBackend('fake', {
    OPENAI_MODEL: 'fake-model,fake-vision',
    VISION_MODELS: 'fake-vision',
    MAX_UPLOAD_BYTES: String(maxUploadBytes),
  });
  fake = backend.fake!;
  browser = await launchExtension();
  await browser.configureServer(backend.url);
});

after(async () => {
  await browser?.close();
  await backend?.stop();
  await site?.close();
});

function openConnectedPanel(): Promise<Page> {
  return connectedPanel(browser, pageErrors);
}

/** Opens a web page in a tab and makes it the active one: the tab the panel reads. */
async function openSite(path: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${siteUrl}${path}`);
  await page.bringToFront();
  return page;
}

function chatRequests(): RecordedRequest[] {
  return fake.requests.filter((request) => request.path.endsWith('/chat/completions'));
}

interface SentMessage {
  role: string;
  content: unknown;
}

function sentMessages(request: RecordedRequest | undefined): SentMessage[] {
  return (request?.body?.messages ?? []) as SentMessage[];
}

/** The text of a message as the model got it (a string, or the text parts of a content array). */
function textOf(message: SentMessage | undefined): string {
  if (typeof message?.content === 'string') return message.content;
  if (Array.isArray(message?.content)) {
    return (message.content as { type: string; text?: string }[])
      .filter((part) => part.type === 'text')
      .map((part) => part.text ?? '')
      .join('');
  }
  return '';
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.mouse.move(0, 0);
  await page.screenshot({ path: screenshotPath(name) });
}

test('"Summarize this page" sends the article text, not its navigation or scripts', { skip }, async () => {
  const article = await openSite('/article');
  const panel = await openConnectedPanel();
  await article.bringToFront();
  const answer = [
    '**Skerryvore** in three points:\n\n',
    '- A tower on a reef, twelve miles out, built over six summers.\n',
    '- Keepers kept four-hour watches so the light never went dark.\n',
    '- Supplies came by boat; winters could cut them off for weeks.\n',
  ];
  fake.enqueue({ type: 'answer', pieces: answer, tokenIntervalMs: 15 });
  const before = chatRequests().length;
  await panel.getByTestId('empty-summarize-page').click();
  await waitForStatus(lastAnswer(panel), 'done');

  const request = chatRequests()[before];
  const user = textOf(sentMessages(request).at(-1));
  assert.match(user, /^Summarize this page\./);
  // The page, its title and address are fenced as untrusted data the model is told not to obey.
  assert.match(
    user,
    /### Page: untrusted content from a web page\nThe text between <<<(untrusted-\w+)>>> and/,
  );
  const boundary = /<<<(untrusted-\w+)>>>/.exec(user)?.[1];
  const fenced = user.slice(user.indexOf(`<<<${boundary}>>>\n`), user.lastIndexOf(`<<<end ${boundary}>>>`));
  assert.ok(fenced.includes('Title: The Lighthouse Keepers of Skerryvore'));
  assert.ok(fenced.includes(`URL: ${siteUrl}/article`), 'the page address goes with its text');
  for (const marker of ['ARTICLE-ALPHA', 'ARTICLE-BRAVO', 'ARTICLE-CHARLIE', 'ARTICLE-DELTA']) {
    assert.ok(fenced.includes(marker), `the article's ${marker} paragraph is sent, inside the fence`);
  }
  for (const marker of ['NAV-MARKER', 'SCRIPT-MARKER', 'STYLE-MARKER', 'FOOTER-MARKER', 'ASIDE-MARKER']) {
    assert.ok(!user.includes(marker), `${marker} is not part of the page's text`);
  }

  const context = panel.getByTestId('message-user').last().getByTestId('message-context');
  assert.equal(
    await context.locator('a.context-link').getAttribute('href'),
    `${siteUrl}/article`,
    'the message shows which page it used',
  );
  assert.match((await context.textContent()) ?? '', /The Lighthouse Keepers of Skerryvore/);
  assert.equal(await context.getByTestId('context-cut-note').count(), 0, 'a short page is sent whole');
  await screenshot(panel, 'page-summary.png');
  await panel.close();
  await article.close();
});

test('"Ask about this page" cuts a long page to the budget and says so', { skip }, async () => {
  const long = await openSite('/long');
  const panel = await openConnectedPanel();
  await long.bringToFront();
  await panel.getByTestId('ask-page').click();
  const chip = panel.getByTestId('composer-context').getByTestId('message-context');
  await chip.waitFor();
  const note = chip.getByTestId('context-cut-note');
  assert.match((await note.textContent()) ?? '', /Cut to .* of .* characters/);

  fake.enqueue({ type: 'answer', pieces: ['They wrote ', 'the log.'], tokenIntervalMs: 10 });
  const before = chatRequests().length;
  await sendMessage(panel, 'What did each watch begin with?');
  await waitForStatus(lastAnswer(panel), 'done');
  const user = textOf(sentMessages(chatRequests()[before]).at(-1));
  assert.match(user, /^What did each watch begin with\?/);
  assert.ok(user.includes('LONG-1 '), 'the start of the page is sent');
  assert.ok(!user.includes('LONG-300 '), 'the end of the page is cut');
  assert.match(user, /\[Chrome Plus: the page text was cut to \d+ of its \d+ characters\.\]/);
  const pageText = user.slice(user.indexOf('### Page:'));
  // The budget is the page's text; the fence, its statement, title, address and the note add under 600.
  assert.ok(pageText.length < 20_000 + 600, `the page text keeps to the budget (${pageText.length})`);
  await panel.getByTestId('message-user').last().getByTestId('context-cut-note').waitFor();
  await panel.close();
  await long.close();
});

test('pages that cannot be read get a clear message, not an empty context', { skip }, async () => {
  const panel = await openConnectedPanel();
  const notice = panel.getByTestId('notice');
  const before = chatRequests().length;

  const chromePage = await browser.context.newPage();
  await chromePage.goto('chrome://version');
  await chromePage.bringToFront();
  await panel.getByTestId('summarize-page').click();
  await notice.getByText(/Chrome keeps its own pages/).waitFor();
  await chromePage.close();

  // localhost is not 127.0.0.1: the extension was given no access there.
  const other = await browser.context.newPage();
  await other.goto(`${siteUrl.replace('127.0.0.1', 'localhost')}/article`);
  await other.bringToFront();
  await panel.getByTestId('summarize-page').click();
  await notice.getByText(/may not read this page/).waitFor();
  assert.equal(await notice.getByTestId('notice-action').textContent(), 'Allow reading pages');
  await other.close();

  assert.equal(chatRequests().length, before, 'nothing was sent without the page');
  assert.equal(await panel.getByTestId('message-user').count(), 0);
  await panel.close();
});

test('a PDF tab cannot be read as a page, but can be attached and read by the server', { skip }, async () => {
  const pdf = await openSite('/logbook.pdf');
  const panel = await openConnectedPanel();
  await pdf.bringToFront();
  await panel.getByTestId('summarize-page').click();
  const notice = panel.getByTestId('notice');
  await notice.getByText(/This is a PDF/).waitFor();
  await notice.getByTestId('notice-action').click();
  const chip = panel.getByTestId('attachment-chip');
  await chip.and(panel.locator('[data-state="ready"]')).waitFor({ timeout: 15_000 });
  assert.match((await chip.textContent()) ?? '', /logbook\.pdf/);
  assert.equal(await panel.getByTestId('composer').inputValue(), 'Summarize this document.');
  fake.enqueue({ type: 'answer', pieces: ['A foggy day ', 'in 1861.'], tokenIntervalMs: 10 });
  const before = chatRequests().length;
  await panel.getByTestId('composer').press('Enter');
  await waitForStatus(lastAnswer(panel), 'done');
  const sent = textOf(sentMessages(chatRequests()[before]).at(-1));
  assert.match(sent, /### Attached file: logbook\.pdf/);
  assert.match(sent, /PDF-MARKER Logbook of the Skerryvore light/);
  await panel.close();
  await pdf.close();
});

test('a selection sent from the context menu shows as a quote and reaches the model', { skip }, async () => {
  const article = await openSite('/article');
  const panel = await openConnectedPanel();
  await article.bringToFront();
  const selection = 'The keepers worked in watches of four hours, trimming the wicks.';
  fake.enqueue({
    type: 'answer',
    pieces: ['A **watch** ', 'is a shift ', 'of duty.'],
    tokenIntervalMs: 10,
  });
  const before = chatRequests().length;
  const click = async (menuItemId: string) =>
    browser.serviceWorker.evaluate(
      async ({ menuItemId, selection, url }) => {
        const [tab] = await chrome.tabs.query({ url });
        const background = (globalThis as unknown as { chromePlusBackground: ChromePlusBackground })
          .chromePlusBackground;
        await background.handleContextMenuClick({ menuItemId, selectionText: selection, pageUrl: url }, tab);
      },
      { menuItemId, selection, url: `${siteUrl}/article` },
    );
  await click('explain');

  const user = panel.getByTestId('message-user').last();
  await user.getByTestId('context-quote').getByText(selection).waitFor();
  assert.match((await user.textContent()) ?? '', /Explain this\./);
  await waitForStatus(lastAnswer(panel), 'done');
  const sent = textOf(sentMessages(chatRequests()[before]).at(-1));
  assert.match(sent, /^Explain this\./);
  assert.match(sent, /### Selected text: untrusted content from a web page\n/);
  assert.ok(sent.includes(`Title: The Lighthouse Keepers of Skerryvore\nURL: ${siteUrl}/article`));
  assert.ok(sent.includes(selection));
  await screenshot(panel, 'selection.png');

  // "Ask…" waits in the composer for the question.
  await click('ask');
  const quote = panel.getByTestId('composer-context').getByTestId('context-quote');
  await quote.getByText(selection).waitFor();
  fake.enqueue({ type: 'answer', pieces: ['Four hours.'], tokenIntervalMs: 10 });
  await sendMessage(panel, 'How long was a watch?');
  await panel
    .locator('[data-testid="message-assistant"][data-status="done"]', { hasText: 'Four hours.' })
    .waitFor();
  const asked = textOf(sentMessages(chatRequests().at(-1)).at(-1));
  assert.match(asked, /^How long was a watch\?\n\n### Selected text: untrusted content/);
  assert.equal(await panel.getByTestId('composer-context').isVisible(), false, 'the composer is clear again');
  await panel.close();
  await article.close();
});

interface ChromePlusBackground {
  handleContextMenuClick(
    info: { menuItemId: string; selectionText: string; pageUrl: string },
    tab: chrome.tabs.Tab | undefined,
  ): Promise<void>;
}

test('a file attached through the button uploads with progress and the answer reads it', {
  skip,
}, async () => {
  const panel = await openConnectedPanel();
  const notes = [
    '# Expedition notes',
    '',
    'ATTACHED-MARKER The relief boat landed on the 14th with oil, flour and letters.',
    'The second keeper reports the lens clockwork runs two minutes slow each night.',
  ].join('\n');
  await panel.getByTestId('file-input').setInputFiles({
    name: 'expedition-notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from(notes),
  });
  const chip = panel.getByTestId('attachment-chip');
  await chip.and(panel.locator('[data-state="ready"]')).waitFor({ timeout: 15_000 });
  assert.match((await chip.textContent()) ?? '', /expedition-notes\.txt/);

  fake.enqueue({ type: 'answer', pieces: ['The clockwork ', 'runs slow.'], tokenIntervalMs: 10 });
  const before = chatRequests().length;
  await sendMessage(panel, 'What is wrong with the lens?');
  await waitForStatus(lastAnswer(panel), 'done');
  assert.equal(await answerText(lastAnswer(panel)), 'The clockwork runs slow.');
  const sent = textOf(sentMessages(chatRequests()[before]).at(-1));
  assert.match(sent, /^What is wrong with the lens\?/);
  assert.ok(
    sent.includes('### Attached file: expedition-notes.txt'),
    'the worker put the file under its name',
  );
  assert.ok(sent.includes('ATTACHED-MARKER The relief boat landed'), 'the file text reached the model');
  const shown = panel.getByTestId('message-user').last().getByTestId('message-attachment');
  assert.match((await shown.textContent()) ?? '', /expedition-notes\.txt/);
  assert.equal(await chip.count(), 0, 'the chips left the composer with the message');

  // The conversation keeps the file (its name and size, not its bytes) after a reload.
  await panel.reload();
  await panel.getByTestId('message-attachment').getByText('expedition-notes.txt').waitFor();
  await panel.close();
});

test('a pasted screenshot goes to a vision model as an image; drops attach; bad files are said plainly', {
  skip,
}, async () => {
  const panel = await openConnectedPanel();
  await panel
    .getByTestId('model-picker')
    .locator('option[value="fake-vision"]')
    .waitFor({ state: 'attached' });
  await panel.getByTestId('model-picker').selectOption('fake-vision');

  // A 1×1 PNG, pasted as a screenshot is (a file named image.png on the clipboard).
  const png =
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
  await panel.getByTestId('composer').evaluate((composer, data) => {
    const bytes = Uint8Array.from(atob(data), (character) => character.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
    composer.dispatchEvent(
      new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }),
    );
  }, png);
  const chips = panel.getByTestId('attachment-chip');
  await chips.first().and(panel.locator('[data-state="ready"]')).waitFor({ timeout: 15_000 });
  assert.match((await chips.first().textContent()) ?? '', /screenshot-\d{8}-\d{6}\.png/);

  // Dropped files: one the workers cannot read, one over the server's limit.
  await panel.locator('.app').evaluate((app, limit) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4])], 'archive.zip'));
    transfer.items.add(new File([new Uint8Array(limit + 1024)], 'huge.txt', { type: 'text/plain' }));
    app.dispatchEvent(
      new DragEvent('dragenter', { dataTransfer: transfer, bubbles: true, cancelable: true }),
    );
    app.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, maxUploadBytes);
  const failed = chips.and(panel.locator('[data-state="error"]'));
  await failed.nth(1).waitFor({ timeout: 15_000 });
  const failures = (await failed.allTextContents()).join(' | ');
  assert.match(failures, /archive\.zip.*cannot be read/);
  assert.match(failures, /huge\.txt.*Too large: the server takes files up to 200 KB/);
  assert.equal(await panel.getByTestId('send').isDisabled(), true, 'failed files must go before sending');
  await screenshot(panel, 'attachments.png');
  for (let index = 0; index < 2; index++) await failed.first().getByTestId('attachment-remove').click();
  assert.equal(await chips.count(), 1);

  fake.enqueue({ type: 'answer', pieces: ['A single ', 'red pixel.'], tokenIntervalMs: 10 });
  const before = chatRequests().length;
  await sendMessage(panel, 'What is in this screenshot?');
  await waitForStatus(lastAnswer(panel), 'done');
  const request = chatRequests()[before];
  assert.equal(request?.body?.model, 'fake-vision', 'the model picked in the panel answers');
  const content = sentMessages(request).at(-1)?.content as { type: string; image_url?: { url: string } }[];
  assert.ok(Array.isArray(content), 'an image makes the message a list of parts');
  assert.ok(
    content.some(
      (part) => part.type === 'image_url' && part.image_url?.url.startsWith('data:image/png;base64,'),
    ),
    'the screenshot went as an image part',
  );
  await panel.getByTestId('model-picker').selectOption('');
  await panel.close();
});

test('uploads carry the token (through the CORS preflight); a refused token is said plainly', {
  skip,
}, async () => {
  const guarded = await startBackend('demo', { AUTH_TOKENS: 'tester:e2e-upload-token' });
  try {
    await browser.configureServer(guarded.url, 'e2e-upload-token');
    const panel = await openConnectedPanel();
    const file = {
      name: 'token-check.md',
      mimeType: 'text/markdown',
      buffer: Buffer.from('# Hello\n\nA note.'),
    };
    await panel.getByTestId('file-input').setInputFiles(file);
    const chip = panel.getByTestId('attachment-chip');
    await chip.and(panel.locator('[data-state="ready"]')).waitFor({ timeout: 15_000 });
    await chip.getByTestId('attachment-remove').click();

    await browser.configureServer(guarded.url, 'a-wrong-token');
    await panel.getByTestId('unauthorized-banner').waitFor({ timeout: 15_000 });
    await panel.getByTestId('file-input').setInputFiles(file);
    await chip.and(panel.locator('[data-state="error"]')).waitFor({ timeout: 15_000 });
    assert.match((await chip.getByTestId('attachment-status').textContent()) ?? '', /refused the token/);
    await panel.close();
  } finally {
    await browser.configureServer(backend.url);
    await guarded.stop();
  }
});

test('Esc stops an answer; ↑ in the empty composer edits the last message', { skip }, async () => {
  const panel = await openConnectedPanel();
  fake.enqueue({ type: 'answer', pieces: numberedWords(300), tokenIntervalMs: 40 });
  await sendMessage(panel, 'Count slowly, please.');
  const answer = lastAnswer(panel);
  await answer.locator('.markdown').getByText(/word3/).waitFor();
  await panel.keyboard.press('Escape');
  await waitForStatus(answer, 'cancelled', 10_000);

  await panel.getByTestId('composer').focus();
  await panel.keyboard.press('ArrowUp');
  await panel.getByTestId('editing-note').waitFor();
  assert.equal(await panel.getByTestId('composer').inputValue(), 'Count slowly, please.');
  await panel.getByTestId('composer').fill('Count quickly, please.');
  fake.enqueue({ type: 'answer', pieces: ['one ', 'two ', 'three.'], tokenIntervalMs: 5 });
  const before = chatRequests().length;
  await panel.getByTestId('composer').press('Enter');
  await panel.locator('[data-testid="message-assistant"][data-status="done"]').waitFor();
  assert.deepEqual(await panel.getByTestId('message-user').allTextContents(), ['Count quickly, please.']);
  assert.equal(await panel.getByTestId('message-assistant').count(), 1, 'the edit replaced the old answer');
  const sent = sentMessages(chatRequests()[before]);
  assert.deepEqual(
    sent.map((message) => [message.role, textOf(message)]),
    [['user', 'Count quickly, please.']],
    'the model sees the edited message only',
  );
  await panel.close();
});

test('the system prompt and saved prompts come from the options page', { skip }, async () => {
  const options = await browser.context.newPage();
  await options.goto(`chrome-extension://${browser.extensionId}/options.html`);
  await options.getByTestId('system-prompt').fill('Answer like a lighthouse keeper.');
  await options.getByTestId('preset-add').click();
  await options.getByTestId('preset-name').last().fill('Weather');
  await options.getByTestId('preset-text').last().fill('What will the weather be at sea tonight?');
  await options.getByTestId('save').click();
  await options.getByTestId('options-result').getByText(/saved/i).waitFor();
  mkdirSync(testResults, { recursive: true });
  await options.screenshot({ path: join(testResults, 'options.png'), fullPage: true });
  await options.close();

  const panel = await openConnectedPanel();
  await panel.getByTestId('presets-button').click();
  const presets = panel.getByTestId('preset');
  assert.ok((await presets.count()) >= 4, 'the built-in prompts and the new one');
  await presets.filter({ hasText: 'Weather' }).click();
  assert.equal(await panel.getByTestId('composer').inputValue(), 'What will the weather be at sea tonight?');
  fake.enqueue({ type: 'answer', pieces: ['Fog, ', 'then gales.'], tokenIntervalMs: 5 });
  const before = chatRequests().length;
  await panel.getByTestId('composer').press('Enter');
  await waitForStatus(lastAnswer(panel), 'done');
  const sent = sentMessages(chatRequests()[before]);
  assert.deepEqual(sent[0], { role: 'system', content: 'Answer like a lighthouse keeper.' });
  assert.equal(textOf(sent[1]), 'What will the weather be at sea tonight?');

  const reset = await browser.context.newPage();
  await reset.goto(`chrome-extension://${browser.extensionId}/options.html`);
  await reset.getByTestId('system-prompt').fill('');
  await reset.getByTestId('save').click();
  await reset.getByTestId('options-result').getByText(/saved/i).waitFor();
  await reset.close();
  await panel.close();
});

test('history: search titles and content, rename, delete with undo, export as Markdown', {
  skip,
}, async () => {
  const panel = await openConnectedPanel();
  const chats = [
    ['Plan a trip to the Hebrides', 'Take the ferry from Oban; the puffins nest on Lunga in June.'],
    ['Fix my bread recipe', 'Use less yeast and a longer, cooler rise for a better crumb.'],
    ['Explain tides', 'The moon pulls the sea: two highs and two lows a day.'],
  ];
  for (const [question, reply] of chats) {
    await panel.getByTestId('new-chat').click();
    fake.enqueue({ type: 'answer', pieces: [reply!], tokenIntervalMs: 5 });
    await sendMessage(panel, question!);
    await waitForStatus(lastAnswer(panel), 'done');
  }

  await panel.getByTestId('history-button').click();
  const items = panel.getByTestId('history-item');
  await items.nth(2).waitFor();
  assert.deepEqual(
    (await items.getByTestId('history-title').allTextContents()).slice(0, 3),
    ['Explain tides', 'Fix my bread recipe', 'Plan a trip to the Hebrides'],
    'newest first',
  );
  // For the README: a search that finds words inside answers, with an item's actions showing.
  await panel.getByTestId('history-search').fill('the');
  await panel.getByTestId('history-snippet').nth(1).waitFor();
  await items.nth(1).hover();
  await panel.screenshot({ path: screenshotPath('history.png') });
  await panel.getByTestId('history-search').fill('');

  // "puffins" is only in an answer, not in any title.
  await panel.getByTestId('history-search').fill('PUFFINS');
  await panel.waitForFunction(() => document.querySelectorAll('[data-testid="history-item"]').length === 1);
  assert.equal(await items.getByTestId('history-title').textContent(), 'Plan a trip to the Hebrides');
  assert.match((await items.getByTestId('history-snippet').textContent()) ?? '', /puffins nest on Lunga/);
  await panel.getByTestId('history-search').fill('bread');
  await panel.waitForFunction(
    () => document.querySelector('[data-testid="history-title"]')?.textContent === 'Fix my bread recipe',
  );

  // Rename.
  await items.first().hover();
  await items.first().getByTestId('history-rename').click();
  await panel.getByTestId('history-rename-input').fill('Sourdough troubles');
  await panel.getByTestId('history-rename-input').press('Enter');
  await panel.getByTestId('history-search').fill('sourdough');
  await items.getByTestId('history-title').getByText('Sourdough troubles').waitFor();

  // Export.
  const download = panel.waitForEvent('download');
  await items.first().hover();
  await items.first().getByTestId('history-export').click();
  const file = await download;
  assert.equal(file.suggestedFilename(), 'Sourdough troubles.md');
  const markdown = readFileSync((await file.path())!, 'utf8');
  assert.match(markdown, /^# Sourdough troubles\n/);
  assert.match(markdown, /## You\n\nFix my bread recipe\n/);
  assert.match(
    markdown,
    /## Assistant · fake-model\n\nUse less yeast and a longer, cooler rise for a better crumb\.\n/,
  );

  // Delete, undo, delete for good.
  await items.first().hover();
  await items.first().getByTestId('history-delete').click();
  assert.equal(await items.count(), 0);
  await panel
    .getByTestId('toast')
    .getByText(/Deleted “Sourdough troubles”/)
    .waitFor();
  await panel.getByTestId('undo').click();
  await items.getByTestId('history-title').getByText('Sourdough troubles').waitFor();
  await items.first().hover();
  await items.first().getByTestId('history-delete').click();
  await panel.getByTestId('toast').waitFor();
  await panel.reload();
  await panel.getByTestId('history-button').click();
  await panel.getByTestId('history-search').fill('bread');
  await panel.getByTestId('history-empty').getByText('No conversation matches.').waitFor();
  await panel.getByTestId('history-search').fill('');
  await items.nth(1).waitFor();
  assert.ok(
    !(await items.getByTestId('history-title').allTextContents()).includes('Sourdough troubles'),
    'a delete that was not undone stays',
  );
  await panel.close();
});

test('the panel follows a dark system theme', { skip }, async () => {
  const panel = await openConnectedPanel();
  fake.enqueue({
    type: 'answer',
    pieces: ['In the dark theme, **code** stays readable:\n\n', '```js\nconst light = "on";\n```\n'],
    tokenIntervalMs: 5,
  });
  await sendMessage(panel, 'Show me some code.');
  await waitForStatus(lastAnswer(panel), 'done');
  const background = () => panel.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(await background(), 'rgb(255, 255, 255)');
  await panel.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await background(), 'rgb(24, 24, 28)');
  assert.equal(
    await panel.getByTestId('message-user').evaluate((element) => getComputedStyle(element).backgroundColor),
    'rgb(43, 42, 74)',
  );
  await screenshot(panel, 'dark.png');
  await panel.close();
});

test('no page error happened in any panel', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
