// Model compare in Chromium against the real gateway, worker and Redis, with a fake model server listing two models:
// one prompt streams from both at once (each its own request and job), through a gateway restart; each answer shows
// its model, TTFT and speed; picking one goes on with it alone. Simplified Chinese in dark mode, screenshot once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RecordedRequest } from '@chrome-plus/testkit';
import type { Locator, Page } from 'playwright-core';
import {
  answerText,
  type Backend,
  chromiumAvailable,
  connectedPanel,
  type ExtensionBrowser,
  launchExtension,
  numberedWords,
  screenshotPath,
  sendMessage,
  startBackend,
  waitForStatus,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';
const models = ['fake-alpha', 'fake-beta'];

let backend: Backend;
let browser: ExtensionBrowser;
const pageErrors: string[] = [];

/** Each model's answer: its own words, so that a lost or repeated piece, or a mix-up, shows. */
function piecesOf(model: string, count = 24): string[] {
  return numberedWords(count).map((word) => `${model.replace('fake-', '')}-${word}`);
}

before(async () => {
  if (skip) return;
  backend = await startBackend('fake', { OPENAI_MODEL: models.join(',') });
  backend.fake!.script((request) => {
    const model = String(request.body?.model ?? '');
    if (!models.includes(model)) return undefined;
    return { type: 'answer', pieces: piecesOf(model), tokenIntervalMs: model === 'fake-alpha' ? 60 : 90 };
  });
  browser = await launchExtension();
  await browser.configureServer(backend.url);
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

function openConnectedPanel(target: ExtensionBrowser): Promise<Page> {
  return connectedPanel(target, pageErrors);
}

async function chooseModels(page: Page, chosen: readonly string[]): Promise<void> {
  const toggle = page.getByTestId('compare-toggle');
  await toggle.waitFor({ state: 'visible' });
  await toggle.click();
  for (const model of chosen)
    await page.locator(`[data-testid="compare-model"][data-model="${model}"]`).click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  await page.keyboard.press('Escape');
  await page.getByTestId('compare-menu').waitFor({ state: 'hidden' });
}

function chatRequests(): RecordedRequest[] {
  return backend.fake!.requests.filter((request) => request.path.endsWith('/chat/completions'));
}

function answerOf(page: Page, model: string): Locator {
  return page.locator(`[data-testid="message-assistant"][data-model="${model}"]`);
}

async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

test('two models answer one prompt at once, through a gateway restart; picking one goes on with it alone', {
  skip,
}, async () => {
  const page = await openConnectedPanel(browser);
  await chooseModels(page, models);
  const before = chatRequests().length;
  await sendMessage(page, 'Which lighthouse is tallest?');

  // Both stream at the same time: each is its own request, on its own job.
  const [alpha, beta] = [answerOf(page, 'fake-alpha'), answerOf(page, 'fake-beta')];
  await waitUntil('both answers streaming with text', async () => {
    for (const answer of [alpha, beta]) {
      if ((await answer.getAttribute('data-status')) !== 'streaming') return false;
      if ((await answerText(answer)).length === 0) return false;
    }
    return true;
  });
  assert.deepEqual(
    chatRequests()
      .slice(before)
      .map((request) => request.body?.model)
      .sort(),
    models,
  );
  assert.equal(await page.getByTestId('compare-group').count(), 1, 'the answers are drawn together');
  assert.equal(await alpha.getByTestId('compare-model-name').textContent(), 'fake-alpha');

  // A gateway restart mid-answer: both resume by seq, not a word lost or repeated.
  await backend.killGateway();
  await backend.startGateway();
  await waitForStatus(alpha, 'done');
  await waitForStatus(beta, 'done');
  assert.equal(await answerText(alpha), piecesOf('fake-alpha').join(''));
  assert.equal(await answerText(beta), piecesOf('fake-beta').join(''));
  for (const answer of [alpha, beta]) {
    const metrics = (await answer.getByTestId('compare-metrics').textContent()) ?? '';
    assert.match(metrics, /^TTFT \d+\.\d+ s · \d+ chars\/s$/, metrics);
    assert.equal(await answer.getByTestId('compare-pick').isVisible(), true);
  }
  await page.screenshot({ path: screenshotPath('compare.png') });
  // Stacked in the narrow panel, side by side in a wide one.
  const top = async (answer: Locator) => (await answer.boundingBox())?.y ?? Number.NaN;
  assert.ok((await top(beta)) > (await top(alpha)), 'stacked at 420 px');
  await page.setViewportSize({ width: 900, height: 760 });
  assert.equal(await top(beta), await top(alpha), 'side by side at 900 px');
  await page.setViewportSize({ width: 420, height: 760 });

  // Pick beta: alpha leaves the conversation; the next request (compare off) carries beta's answer alone.
  await beta.getByTestId('compare-pick').click();
  await alpha.waitFor({ state: 'detached' });
  await beta.getByTestId('compare-picked').waitFor();
  assert.equal(await beta.getByTestId('compare-pick').isVisible(), false);
  await page.getByTestId('compare-toggle').click();
  await page.getByTestId('compare-off').click();
  assert.equal(await page.getByTestId('compare-toggle').getAttribute('aria-pressed'), 'false');
  const sent = chatRequests().length;
  backend.fake!.enqueue({ type: 'answer', pieces: ['Carried on.'] });
  await sendMessage(page, 'Tell me more.');
  const answers = page.getByTestId('message-assistant');
  await waitUntil('the next answer', async () => (await answers.count()) === 2);
  await waitForStatus(answers.last(), 'done');
  assert.equal(await answerText(answers.last()), 'Carried on.');
  const next = chatRequests().slice(sent);
  assert.equal(next.length, 1, 'one request: compare is off');
  assert.deepEqual(next[0]?.body?.messages, [
    { role: 'user', content: 'Which lighthouse is tallest?' },
    { role: 'assistant', content: piecesOf('fake-beta').join('') },
    { role: 'user', content: 'Tell me more.' },
  ]);

  // Reopened: the picked answer only, still with its model and speed.
  await page.reload();
  await page
    .locator('[data-testid="connection-status"][data-state="connected"]')
    .waitFor({ timeout: 15_000 });
  const shown = page.getByTestId('message-assistant');
  assert.equal(await shown.count(), 2);
  assert.equal(await shown.first().getAttribute('data-model'), 'fake-beta');
  assert.equal(
    await page.getByTestId('compare-model-name').count(),
    1,
    'the other compared answer stays out',
  );
  assert.match((await shown.first().getByTestId('compare-metrics').textContent()) ?? '', /TTFT \d/);
  assert.equal(await shown.first().getByTestId('compare-picked').isVisible(), true);
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test('in Simplified Chinese and dark mode: the chooser and the answers speak Chinese', { skip }, async () => {
  const chinese = await launchExtension({ locale: 'zh-CN', colorScheme: 'dark' });
  try {
    await chinese.configureServer(backend.url);
    const page = await openConnectedPanel(chinese);
    await chooseModels(page, models);
    assert.match((await page.getByTestId('compare-toggle').getAttribute('title')) ?? '', /正在对比 2 个模型/);
    await sendMessage(page, '哪座灯塔最高？');
    const beta = answerOf(page, 'fake-beta');
    await waitForStatus(answerOf(page, 'fake-alpha'), 'done');
    await waitForStatus(beta, 'done');
    assert.match(
      (await beta.getByTestId('compare-metrics').textContent()) ?? '',
      /^首字 \d+\.\d+ 秒 · \d+ 字符\/秒$/,
    );
    assert.equal(await beta.getByTestId('compare-pick').textContent(), '用这个继续');
    await page.screenshot({ path: screenshotPath('compare-zh-CN-dark.png') });
    assert.deepEqual(pageErrors, []);
  } finally {
    await chinese.close();
  }
});
