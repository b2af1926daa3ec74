// Signing in from the options page in a real Chromium: a user given a password with
// `npm run admin -- users add NAME --password-stdin` signs in with it (a wrong one is refused, saying so), the
// minted token is saved, the side panel connects and chats with it, and the options page shows the usage counted
// against the daily budget. Gateway and worker are separate processes sharing a real PostgreSQL; then the same in
// Simplified Chinese and dark mode.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createTestDatabase, repoRoot, type TestDatabase } from '@chrome-plus/testkit';
import type { Page } from 'playwright-core';
import {
  answerText,
  type Backend,
  chromiumAvailable,
  type ExtensionBrowser,
  lastAnswer,
  launchExtension,
  screenshotPath,
  sendMessage,
  startBackend,
  waitForStatus,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';
const ADMIN_TOKEN = 'admin-token-for-e2e-accounts';
const PASSWORD = 'correct horse battery staple';

let database: TestDatabase;
let backend: Backend;
const browsers: ExtensionBrowser[] = [];

/** `npm run admin -- ...` as an operator runs it, with `stdin` piped in. */
function admin(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'server/src/cli/admin.ts', ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, CHROME_PLUS_URL: `http://127.0.0.1:${backend.port}`, ADMIN_TOKEN },
        timeout: 30_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

before(async () => {
  if (skip) return;
  database = await createTestDatabase('e2eaccounts');
  backend = await startBackend('fake', { ADMIN_TOKEN, DATABASE_URL: database.url });
  const added = await admin(['users', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`);
  assert.equal(added.code, 0, added.stderr);
  const quota = await admin(['quota', 'set', 'alice', '--tokens-per-day', '50000']);
  assert.equal(quota.code, 0, quota.stderr);
});

after(async () => {
  for (const browser of browsers) await browser.close();
  await backend?.stop();
  await database?.drop();
});

async function openOptions(browser: ExtensionBrowser): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`chrome-extension://${browser.extensionId}/options.html`);
  return page;
}

async function signIn(page: Page, password: string): Promise<void> {
  await page.getByTestId('server-url').fill(`http://127.0.0.1:${backend.port}`);
  await page.getByTestId('sign-in-name').fill('alice');
  await page.getByTestId('sign-in-password').fill(password);
  await page.getByTestId('sign-in').click();
}

function result(page: Page, kind: 'ok' | 'error') {
  return page.locator(`[data-testid="options-result"][data-kind="${kind}"]`);
}

/** Opens the panel, sends a message and waits for the whole answer; the model reports `usage`. */
async function chat(browser: ExtensionBrowser, usage: { prompt_tokens: number; completion_tokens: number }) {
  backend.fake!.enqueue({ type: 'answer', pieces: ['Signed ', 'in ', 'and ', 'answering.'], usage });
  const panel = await browser.openPanel();
  await panel
    .locator('[data-testid="connection-status"][data-state="connected"]')
    .waitFor({ timeout: 15_000 });
  await sendMessage(panel, 'Hello from a signed-in browser');
  const answer = lastAnswer(panel);
  await waitForStatus(answer, 'done');
  assert.equal(await answerText(answer), 'Signed in and answering.');
  await panel.close();
}

/** Reloads the options page until it shows `text` as today's usage (the worker records usage as the answer ends). */
async function usageShows(page: Page, text: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await page.reload();
    const usage = page.getByTestId('usage-today');
    await usage.waitFor({ timeout: 10_000 });
    const shown = (await usage.textContent()) ?? '';
    if (shown === text) return;
    if (Date.now() > deadline) assert.equal(shown, text);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

test('a user with a password signs in on the options page, chats, and sees the usage counted', {
  skip,
}, async () => {
  const browser = await launchExtension();
  browsers.push(browser);
  const options = await openOptions(browser);
  assert.equal(await options.getByTestId('usage').isVisible(), false, 'no usage before signing in');

  await signIn(options, 'not the password');
  assert.equal(await result(options, 'error').textContent(), 'Wrong user name or password.');
  assert.equal(await options.getByTestId('token').inputValue(), '');

  await options.getByTestId('sign-in-password').fill(PASSWORD);
  await options.getByTestId('sign-in-password').press('Enter');
  await result(options, 'ok').waitFor();
  const device = await options.getByTestId('sign-in-device').inputValue();
  assert.equal(
    await result(options, 'ok').textContent(),
    `Signed in as alice on "${device}". The token is saved.`,
  );
  assert.match(await options.getByTestId('token').inputValue(), /^cpd_/);
  assert.equal(await options.getByTestId('sign-in-password').inputValue(), '', 'the password is not kept');
  // The usage is fetched after the sign-in: wait for it to be shown, then read it.
  await options.getByTestId('usage-today').filter({ hasText: /\S/ }).waitFor();
  assert.equal(await options.getByTestId('usage-today').textContent(), 'Today: 0 of 50,000 tokens');

  // Stored as a pasted token is: a fresh page shows it, and the token list names this browser.
  await options.reload();
  assert.match(await options.getByTestId('token').inputValue(), /^cpd_/);
  const tokens = await admin(['tokens', 'list', 'alice', '--json']);
  assert.deepEqual(
    (JSON.parse(tokens.stdout) as { device: string }[]).map((token) => token.device),
    [device],
  );

  await chat(browser, { prompt_tokens: 12_000, completion_tokens: 345 });
  await usageShows(options, 'Today: 12,345 of 50,000 tokens');
  const bar = options.locator('[data-testid="usage-bar"] .usage-bar-fill');
  assert.match((await bar.getAttribute('style')) ?? '', /width: 24\.7%/);
  await options.screenshot({ path: screenshotPath('options-sign-in.png'), fullPage: true });
  await options.close();
});

test('in Simplified Chinese and dark mode: the same sign-in and usage, in Chinese, on dark colours', {
  skip,
}, async () => {
  const browser = await launchExtension({ locale: 'zh-CN', colorScheme: 'dark' });
  browsers.push(browser);
  const options = await openOptions(browser);
  await signIn(options, 'still not the password');
  assert.equal(await result(options, 'error').textContent(), '用户名或密码错误。');
  await options.getByTestId('sign-in-device').fill('work chrome');
  await options.getByTestId('sign-in-password').fill(PASSWORD);
  await options.getByTestId('sign-in').click();
  await result(options, 'ok').waitFor();
  assert.equal(
    await result(options, 'ok').textContent(),
    '已以 alice 的身份在“work chrome”上登录，令牌已保存。',
  );
  // Today's count is the user's, whichever browser asks: the first browser's chat is in it.
  await options.getByTestId('usage-today').filter({ hasText: /\S/ }).waitFor();
  assert.equal(await options.getByTestId('usage-today').textContent(), '今天：已用 12,345 / 50,000 个 token');
  const background = await options.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(24, 24, 28)', 'the dark theme');
  await chat(browser, { prompt_tokens: 5, completion_tokens: 5 });
  await usageShows(options, '今天：已用 12,355 / 50,000 个 token');
  await options.screenshot({ path: screenshotPath('options-sign-in-dark-zh.png'), fullPage: true });
  await options.close();
});
