// The user's settings (server, token, model, system prompt, saved prompts, page budget), kept in chrome.storage.local: this device only.
import { FILES_PATH, PROTOCOL_PATH } from '@chrome-plus/protocol';

/** A saved prompt: its text goes into the composer when it is picked. */
export interface PromptPreset {
  id: string;
  name: string;
  text: string;
}

export interface Settings {
  serverUrl: string;
  token: string;
  /** Empty: the server's default model. */
  defaultModel: string;
  /** Sent first, as the system message, with every request; empty: none. */
  systemPrompt: string;
  /** Undefined: the built-in presets in the browser's language (until the user saves their own). */
  presets: PromptPreset[] | undefined;
  /** The most characters of a page's text sent with "Summarize/Ask about this page". */
  pageBudget: number;
}

export const pageBudgetLimits = { min: 1_000, max: 200_000, default: 20_000 } as const;

export const defaultSettings: Settings = {
  serverUrl: `ws://127.0.0.1:8787${PROTOCOL_PATH}`,
  token: '',
  defaultModel: '',
  systemPrompt: '',
  presets: undefined,
  pageBudget: pageBudgetLimits.default,
};

const settingKeys = Object.keys(defaultSettings) as (keyof Settings)[];

/** This computer: localhost, 127.x.y.z or [::1] (a URL's `hostname`), where an unencrypted socket stays local. */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * A server address as users type it, made into the gateway's socket URL: http(s) becomes ws(s),
 * a missing path becomes /v1/ws. Without a scheme, wss:// unless the host is this computer: a plain
 * socket to another host would carry the token in clear. Undefined when it cannot be a WebSocket URL.
 */
export function normalizeServerUrl(input: string): string | undefined {
  let text = input.trim();
  if (!text) return undefined;
  const schemeless = !/^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  if (schemeless) text = `ws://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (schemeless && !isLocalHost(url.hostname)) url.protocol = 'wss:';
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return undefined;
  if (url.pathname === '/' || url.pathname === '') url.pathname = PROTOCOL_PATH;
  url.hash = '';
  return url.toString();
}

/**
 * Whether saving these would send the token unencrypted over the network: a ws:// (or http://) server that
 * is not this computer, with a token set. The options page warns; the user may still mean it (a LAN).
 */
export function sendsTokenInClear(serverUrl: string, token: string): boolean {
  if (!token.trim()) return false;
  const url = normalizeServerUrl(serverUrl);
  if (!url) return false;
  const parsed = new URL(url);
  return parsed.protocol === 'ws:' && !isLocalHost(parsed.hostname);
}

/** An HTTP endpoint of the gateway of a socket URL: same host, ws→http, wss→https, the given path. */
export function gatewayHttpUrl(serverUrl: string, path: string): string {
  const url = new URL(serverUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = path;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** The gateway's upload endpoint for a socket URL: same host, ws→http, wss→https, path /v1/files. */
export function filesUrl(serverUrl: string): string {
  return gatewayHttpUrl(serverUrl, FILES_PATH);
}

export function clampPageBudget(value: number): number {
  if (!Number.isFinite(value)) return pageBudgetLimits.default;
  return Math.min(pageBudgetLimits.max, Math.max(pageBudgetLimits.min, Math.round(value)));
}

function parsePresets(value: unknown): PromptPreset[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.flatMap((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { id, name, text } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || typeof name !== 'string' || typeof text !== 'string') return [];
    return [{ id, name, text }];
  });
}

/** Settings from what storage holds: anything missing or of the wrong type takes its default. */
export function parseSettings(stored: Record<string, unknown>): Settings {
  const text = (key: 'serverUrl' | 'token' | 'defaultModel' | 'systemPrompt') =>
    typeof stored[key] === 'string' ? stored[key] : defaultSettings[key];
  return {
    serverUrl: text('serverUrl'),
    token: text('token'),
    defaultModel: text('defaultModel'),
    systemPrompt: text('systemPrompt'),
    presets: parsePresets(stored.presets),
    pageBudget:
      typeof stored.pageBudget === 'number' ? clampPageBudget(stored.pageBudget) : defaultSettings.pageBudget,
  };
}

export async function loadSettings(storage = chrome.storage.local): Promise<Settings> {
  return parseSettings(await storage.get(settingKeys));
}

/** Saves some settings; the others keep what they were. */
export async function saveSettings(
  settings: Partial<Settings>,
  storage = chrome.storage.local,
): Promise<void> {
  const { presets, ...rest } = settings;
  // No presets of one's own: back to the built-in ones, in whatever language the browser speaks then.
  if ('presets' in settings && presets === undefined) await storage.remove('presets');
  const items: Record<string, unknown> = { ...rest };
  if (presets !== undefined) items.presets = presets;
  await storage.set(items);
}

/** Calls `listener` with the new settings whenever a page saves them. */
export function onSettingsChanged(listener: (settings: Settings) => void): void {
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local') return;
    if (!Object.keys(changes).some((key) => key in defaultSettings)) return;
    void loadSettings().then(listener);
  });
}
