// Options page: server URL, token and default model, with a connection test that names the problem.
import { openBrowserSocket } from '../client/socket.ts';
import { type ConnectionTestResult, testConnection } from '../client/test-connection.ts';
import { localizePage, t } from '../shared/i18n.ts';
import { loadSettings, normalizeServerUrl, type Settings, saveSettings } from '../shared/settings.ts';

function required<T extends Element>(selector: string): T {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`options markup lacks ${selector}`);
  return element;
}

const form = required<HTMLFormElement>('.options-form');
const serverUrl = required<HTMLInputElement>('[data-testid="server-url"]');
const token = required<HTMLInputElement>('[data-testid="token"]');
const model = required<HTMLSelectElement>('[data-testid="default-model"]');
const testButton = required<HTMLButtonElement>('[data-testid="test-connection"]');
const result = required<HTMLElement>('[data-testid="options-result"]');

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
  return { serverUrl: url, token: token.value.trim(), defaultModel: model.value };
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
      openSocket: openBrowserSocket,
      probeHttp,
    });
    if (outcome.ok) {
      fillModels(
        outcome.models.map((info) => info.id),
        settings.defaultModel,
      );
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
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = readForm();
    if (!next) return;
    serverUrl.value = next.serverUrl;
    void saveSettings(next).then(() => say('ok', t('optionsSaved')));
  });
  testButton.addEventListener('click', () => void runTest());
  // Fill the model list straight away when the saved server answers.
  void testConnection({ url: settings.serverUrl, token: settings.token, openSocket: openBrowserSocket }).then(
    (outcome) => {
      if (outcome.ok)
        fillModels(
          outcome.models.map((info) => info.id),
          model.value,
        );
    },
  );
}

void main();
