// Options page: server, token (pasted, or minted by signing in with a password), the user's usage today, default
// model, system prompt, saved prompts, page budget and page access, with a connection test that names the problem.

import { type ConnectionTestResult, socketOpener, testConnection } from '@chrome-plus/client';
import { allSitesPermission } from '../page/current-page.ts';
import { required } from '../shared/dom.ts';
import { localizePage, t } from '../shared/i18n.ts';
import { builtInPresets, presetsOf } from '../shared/presets.ts';
import {
  clampPageBudget,
  loadSettings,
  normalizeServerUrl,
  type PromptPreset,
  type Settings,
  saveSettings,
  sendsTokenInClear,
} from '../shared/settings.ts';
import { setUpAccountSection } from './account-section.ts';

const form = required<HTMLFormElement>('.options-form');
const serverUrl = required<HTMLInputElement>('[data-testid="server-url"]');
const token = required<HTMLInputElement>('[data-testid="token"]');
const model = required<HTMLSelectElement>('[data-testid="default-model"]');
const testButton = required<HTMLButtonElement>('[data-testid="test-connection"]');
const result = required<HTMLElement>('[data-testid="options-result"]');
const systemPrompt = required<HTMLTextAreaElement>('[data-testid="system-prompt"]');
const presetList = required<HTMLElement>('[data-testid="preset-list"]');
const pageBudget = required<HTMLInputElement>('[data-testid="page-budget"]');
const pageAccess = required<HTMLInputElement>('[data-testid="page-access"]');
const insecureWarning = required<HTMLElement>('[data-testid="insecure-server-warning"]');
const openSocket = socketOpener(WebSocket);
const account = setUpAccountSection({
  readServerUrl: () => readForm()?.serverUrl,
  token,
  say: (kind, text) => say(kind, text),
  cannotConnect: (url) => t('testCannotConnect', [url]),
});

/** Shown while the address and token as typed would send the token unencrypted to another computer. */
function showInsecureWarning(): void {
  insecureWarning.hidden = !sendsTokenInClear(serverUrl.value, token.value);
}

function presetRow(preset: PromptPreset): HTMLElement {
  const row = document.createElement('div');
  row.className = 'preset-row';
  row.dataset.testid = 'preset-row';
  row.dataset.presetId = preset.id;
  const name = document.createElement('input');
  name.type = 'text';
  name.dataset.testid = 'preset-name';
  name.value = preset.name;
  name.placeholder = t('optionsPresetName');
  name.setAttribute('aria-label', t('optionsPresetName'));
  const text = document.createElement('textarea');
  text.dataset.testid = 'preset-text';
  text.rows = 2;
  text.value = preset.text;
  text.placeholder = t('optionsPresetText');
  text.setAttribute('aria-label', t('optionsPresetText'));
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary small preset-remove';
  remove.dataset.testid = 'preset-remove';
  remove.textContent = t('delete');
  remove.addEventListener('click', () => row.remove());
  row.append(name, remove, text);
  return row;
}

/** Undefined when the list is still the built-in one: it then follows the browser's language. */
function ownPresets(presets: PromptPreset[]): PromptPreset[] | undefined {
  const builtIn = builtInPresets();
  const same =
    presets.length === builtIn.length &&
    presets.every(
      (preset, index) => preset.name === builtIn[index]?.name && preset.text === builtIn[index]?.text,
    );
  return same ? undefined : presets;
}

function readPresets(): PromptPreset[] {
  return [...presetList.querySelectorAll<HTMLElement>('.preset-row')].flatMap((row) => {
    const name = row.querySelector<HTMLInputElement>('[data-testid="preset-name"]')?.value.trim() ?? '';
    const text = row.querySelector<HTMLTextAreaElement>('[data-testid="preset-text"]')?.value.trim() ?? '';
    if (!text) return [];
    return [{ id: row.dataset.presetId ?? crypto.randomUUID(), name: name || text.slice(0, 30), text }];
  });
}

function say(kind: 'ok' | 'error' | 'info', text: string): void {
  result.dataset.kind = kind;
  result.textContent = text;
}

/** Lists the server's models, keeping the saved choice even when the server no longer offers it. */
function fillModels(ids: readonly string[], selected: string): void {
  const serverDefault = model.options[0];
  model.replaceChildren(...(serverDefault ? [serverDefault] : []));
  for (const id of new Set([...ids, ...(selected ? [selected] : [])])) {
    const option = document.createElement('option');
    option.value = id;
    option.textContent = id;
    model.append(option);
  }
  model.value = selected;
}

function readForm(): Settings | undefined {
  const url = normalizeServerUrl(serverUrl.value);
  if (!url) {
    say('error', t('testInvalidUrl'));
    serverUrl.focus();
    return undefined;
  }
  return {
    serverUrl: url,
    token: token.value.trim(),
    defaultModel: model.value,
    systemPrompt: systemPrompt.value.trim(),
    presets: ownPresets(readPresets()),
    pageBudget: clampPageBudget(Number(pageBudget.value)),
  };
}

function describe(outcome: ConnectionTestResult, url: string): string {
  if (outcome.ok) return t('testOk', [outcome.server, String(outcome.models.length)]);
  if (outcome.problem === 'token_refused') return t('testTokenRefused');
  if (outcome.problem === 'not_chrome_plus') return t('testNotChromePlus');
  return t('testCannotConnect', [url]);
}

/** Whether anything answers HTTP there; an opaque answer is enough to know something listens. */
async function probeHttp(url: string): Promise<boolean> {
  try {
    await fetch(url, { mode: 'no-cors', cache: 'no-store', signal: AbortSignal.timeout(4_000) });
    return true;
  } catch {
    return false;
  }
}

async function runTest(): Promise<void> {
  const settings = readForm();
  if (!settings) return;
  testButton.disabled = true;
  say('info', t('optionsTesting'));
  try {
    const outcome = await testConnection({
      url: settings.serverUrl,
      token: settings.token,
      openSocket,
      probeHttp,
    });
    if (outcome.ok) {
      fillModels(
        outcome.models.map((info) => info.id),
        settings.defaultModel,
      );
      void account.refreshUsage(settings.serverUrl, settings.token);
    }
    say(outcome.ok ? 'ok' : 'error', describe(outcome, settings.serverUrl));
  } finally {
    testButton.disabled = false;
  }
}

async function main(): Promise<void> {
  localizePage();
  const settings = await loadSettings();
  serverUrl.value = settings.serverUrl;
  token.value = settings.token;
  fillModels([], settings.defaultModel);
  systemPrompt.value = settings.systemPrompt;
  presetList.replaceChildren(...presetsOf(settings).map(presetRow));
  pageBudget.value = String(settings.pageBudget);
  pageAccess.checked = await chrome.permissions.contains(allSitesPermission);
  showInsecureWarning();
  serverUrl.addEventListener('input', showInsecureWarning);
  token.addEventListener('input', showInsecureWarning);
  required('[data-testid="preset-add"]').addEventListener('click', () => {
    const row = presetRow({ id: crypto.randomUUID(), name: '', text: '' });
    presetList.append(row);
    row.querySelector('input')?.focus();
  });
  pageAccess.addEventListener('change', () => {
    // Asked inside the click (a user gesture), as Chrome requires; the box shows what Chrome decided.
    const change = pageAccess.checked
      ? chrome.permissions.request(allSitesPermission)
      : chrome.permissions.remove(allSitesPermission).then((removed) => !removed);
    void change.then((granted) => {
      pageAccess.checked = granted;
    });
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = readForm();
    if (!next) return;
    serverUrl.value = next.serverUrl;
    pageBudget.value = String(next.pageBudget);
    void saveSettings(next).then(() => {
      say('ok', t('optionsSaved'));
      void account.refreshUsage(next.serverUrl, next.token);
    });
  });
  testButton.addEventListener('click', () => void runTest());
  void account.refreshUsage(settings.serverUrl, settings.token);
  // Fill the model list straight away when the saved server answers.
  void testConnection({ url: settings.serverUrl, token: settings.token, openSocket }).then((outcome) => {
    if (outcome.ok)
      fillModels(
        outcome.models.map((info) => info.id),
        model.value,
      );
  });
}

void main();
