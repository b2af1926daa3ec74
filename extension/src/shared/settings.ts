// The user's settings (server, token, model), kept in chrome.storage.local: this device only.
import { PROTOCOL_PATH } from '@chrome-plus/protocol';

export interface Settings {
  serverUrl: string;
  token: string;
  /** Empty: the server's default model. */
  defaultModel: string;
}

export const defaultSettings: Settings = {
  serverUrl: `ws://127.0.0.1:8787${PROTOCOL_PATH}`,
  token: '',
  defaultModel: '',
};

/**
 * A server address as users type it, made into the gateway's socket URL: http(s) becomes ws(s),
 * a missing path becomes /v1/ws. Undefined when it cannot be a WebSocket URL.
 */
export function normalizeServerUrl(input: string): string | undefined {
  let text = input.trim();
  if (!text) return undefined;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `ws://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return undefined;
  if (url.pathname === '/' || url.pathname === '') url.pathname = PROTOCOL_PATH;
  url.hash = '';
  return url.toString();
}

export async function loadSettings(storage = chrome.storage.local): Promise<Settings> {
  const stored = await storage.get(Object.keys(defaultSettings));
  const settings = { ...defaultSettings };
  for (const key of Object.keys(defaultSettings) as (keyof Settings)[]) {
    const value = stored[key];
    if (typeof value === 'string') settings[key] = value;
  }
  return settings;
}

export async function saveSettings(settings: Settings, storage = chrome.storage.local): Promise<void> {
  await storage.set({ ...settings });
}

/** Calls `listener` with the new settings whenever another page saves them. */
export function onSettingsChanged(listener: (settings: Settings) => void): void {
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local') return;
    if (!Object.keys(changes).some((key) => key in defaultSettings)) return;
    void loadSettings().then(listener);
  });
}
