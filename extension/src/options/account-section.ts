// The options page's account parts: signing in with a user name and password (the minted token is filled in and
// saved as a pasted one is), and the user's own usage today ("Today: 12,345 of 50,000 tokens").
import { required } from '../shared/dom.ts';
import { t } from '../shared/i18n.ts';
import { saveSettings } from '../shared/settings.ts';
import { type AccountResult, defaultDeviceName, fetchMyUsage, signIn, usageShare } from './account-client.ts';

const DEVICE_KEY = 'deviceName';

export interface AccountSectionOptions {
  /** The server URL as the form has it (normalized), or undefined after saying why it is not one. */
  readServerUrl(): string | undefined;
  token: HTMLInputElement;
  say(kind: 'ok' | 'error' | 'info', text: string): void;
  /** The message for a server that does not answer. */
  cannotConnect(serverUrl: string): string;
}

function signInProblem(result: Exclude<AccountResult<unknown>, { ok: true }>): string | undefined {
  if (result.status === 0) return undefined;
  if (result.status === 401) return t('optionsSignInRefused');
  if (result.code === 'disabled') return t('optionsSignInDisabled');
  if (result.status === 429) return t('optionsSignInThrottled');
  if (result.status === 404) return t('optionsSignInUnavailable');
  return t('optionsSignInFailed', [result.message]);
}

export function setUpAccountSection(options: AccountSectionOptions) {
  const name = required<HTMLInputElement>('[data-testid="sign-in-name"]');
  const password = required<HTMLInputElement>('[data-testid="sign-in-password"]');
  const device = required<HTMLInputElement>('[data-testid="sign-in-device"]');
  const button = required<HTMLButtonElement>('[data-testid="sign-in"]');
  const usage = required<HTMLElement>('[data-testid="usage"]');
  const today = required<HTMLElement>('[data-testid="usage-today"]');
  const bar = required<HTMLElement>('[data-testid="usage-bar"]');
  const numbers = new Intl.NumberFormat(chrome.i18n.getUILanguage());
  let shown = 0;

  const platform = (navigator as Navigator & { userAgentData?: { platform?: string } }).userAgentData
    ?.platform;
  void chrome.storage.local.get(DEVICE_KEY).then((stored) => {
    const saved = stored[DEVICE_KEY];
    device.value = typeof saved === 'string' && saved ? saved : defaultDeviceName(platform);
  });

  /** Shows the usage of `token` on `serverUrl`; hidden when the server does not say (no accounts, a bad token). */
  async function refreshUsage(serverUrl: string, token: string): Promise<void> {
    const request = ++shown;
    const result = await fetchMyUsage({ serverUrl, token });
    if (request !== shown) return;
    usage.hidden = !result.ok;
    if (!result.ok) return;
    const { tokens, tokensPerDay } = result.value;
    today.textContent =
      tokensPerDay === null
        ? t('optionsUsageToday', [numbers.format(tokens)])
        : t('optionsUsageTodayOf', [numbers.format(tokens), numbers.format(tokensPerDay)]);
    const share = usageShare(result.value);
    bar.hidden = share === undefined;
    bar.dataset.level = share !== undefined && share >= 1 ? 'full' : 'some';
    const fill = bar.firstElementChild as HTMLElement | null;
    if (fill) fill.style.width = `${((share ?? 0) * 100).toFixed(1)}%`;
  }

  async function run(): Promise<void> {
    const serverUrl = options.readServerUrl();
    if (!serverUrl) return;
    if (!name.value.trim() || !password.value) {
      options.say('error', t('optionsSignInMissing'));
      (name.value.trim() ? password : name).focus();
      return;
    }
    const deviceName = device.value.trim() || defaultDeviceName(platform);
    button.disabled = true;
    options.say('info', t('optionsSigningIn'));
    try {
      const result = await signIn({
        serverUrl,
        name: name.value.trim(),
        password: password.value,
        device: deviceName,
      });
      if (!result.ok) {
        options.say('error', signInProblem(result) ?? options.cannotConnect(serverUrl));
        if (result.status === 401) password.select();
        return;
      }
      password.value = '';
      options.token.value = result.value.token;
      options.token.dispatchEvent(new Event('input'));
      // Stored as a pasted token is, with the server it belongs to; the rest of the form is saved with Save.
      await saveSettings({ serverUrl, token: result.value.token });
      await chrome.storage.local.set({ [DEVICE_KEY]: result.value.device });
      options.say('ok', t('optionsSignedIn', [result.value.user, result.value.device]));
      await refreshUsage(serverUrl, result.value.token);
    } finally {
      button.disabled = false;
    }
  }

  button.addEventListener('click', () => void run());
  // Enter in these fields signs in, rather than submitting (saving) the whole form.
  for (const input of [name, password, device])
    input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      event.preventDefault();
      void run();
    });

  return { refreshUsage };
}
