// The options page's "test connection": one socket, hello and models.list, and what went wrong in words.
import { CloseCode, type ModelInfo, parseServerFrame } from '@chrome-plus/protocol';
import type { OpenSocket } from './socket.ts';

export type ConnectionTestResult =
  | { ok: true; server: string; user: string; models: ModelInfo[]; defaultModel: string }
  | { ok: false; problem: 'cannot_connect' | 'token_refused' | 'not_chrome_plus' };

export interface ConnectionTestOptions {
  url: string;
  token?: string;
  openSocket: OpenSocket;
  /**
   * Whether anything answers HTTP at the socket's address. Tells "nothing listens there" from
   * "something listens but refused the WebSocket" when the socket fails before it opens.
   */
  probeHttp?: (httpUrl: string) => Promise<boolean>;
  timeoutMs?: number;
}

export function testConnection(options: ConnectionTestOptions): Promise<ConnectionTestResult> {
  return new Promise((resolve) => {
    let opened = false;
    let settled = false;
    let welcome: { server: string; user: string } | undefined;
    const finish = (result: ConnectionTestResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close(CloseCode.normal, 'test finished');
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, problem: opened ? 'not_chrome_plus' : 'cannot_connect' }),
      options.timeoutMs ?? 8_000,
    );
    const socket = options.openSocket(options.url, {
      open() {
        opened = true;
        socket.send(JSON.stringify({ type: 'hello', token: options.token || undefined, client: 'options' }));
      },
      message(data) {
        const parsed = parseServerFrame(data);
        if (parsed.ok !== true) {
          finish({ ok: false, problem: 'not_chrome_plus' });
          return;
        }
        const frame = parsed.frame;
        if (frame.type === 'welcome') {
          welcome = { server: frame.server, user: frame.user };
          socket.send(JSON.stringify({ type: 'models.list' }));
        } else if (frame.type === 'models' && welcome) {
          finish({ ok: true, ...welcome, models: frame.models, defaultModel: frame.default });
        } else if (frame.type === 'error' && frame.code === 'unauthorized') {
          finish({ ok: false, problem: 'token_refused' });
        }
      },
      close(code) {
        if (settled) return;
        if (code === CloseCode.unauthorized) {
          finish({ ok: false, problem: 'token_refused' });
        } else if (opened) {
          finish({ ok: false, problem: 'not_chrome_plus' });
        } else if (options.probeHttp) {
          const httpUrl = options.url.replace(/^ws/i, 'http');
          void options.probeHttp(httpUrl).then(
            (answered) => finish({ ok: false, problem: answered ? 'not_chrome_plus' : 'cannot_connect' }),
            () => finish({ ok: false, problem: 'cannot_connect' }),
          );
        } else {
          finish({ ok: false, problem: 'cannot_connect' });
        }
      },
    });
  });
}
