// Closes, with 4401, every socket of this gateway whose device token was revoked or whose user was disabled: the
// directory reloads within moments of a change on any gateway, and each reload checks the sockets signed in here.
import { CloseCode } from '@chrome-plus/protocol';
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import type { AccountDirectory } from './account-directory.ts';

export function createSocketRevocation(
  directory: Pick<AccountDirectory, 'deviceTokenHash' | 'isLive' | 'onReload'>,
  sockets: ReadonlySet<WebSocket>,
  logger: Logger,
): { signedIn(socket: WebSocket, token: string | undefined): void } {
  // Only sockets signed in with a device token: AUTH_TOKENS and the open local mode cannot be revoked.
  const hashes = new WeakMap<WebSocket, string>();
  directory.onReload(() => {
    let closed = 0;
    for (const socket of sockets) {
      const hash = hashes.get(socket);
      if (hash === undefined || directory.isLive(hash)) continue;
      hashes.delete(socket);
      socket.close(CloseCode.unauthorized, 'token revoked or user disabled');
      // A client that does not answer the close keeps its socket no longer than this.
      setTimeout(() => socket.terminate(), 1_000).unref();
      closed++;
    }
    if (closed > 0) logger.info({ closed }, 'closed the sockets of revoked tokens');
  });
  return {
    signedIn(socket, token) {
      const hash = directory.deviceTokenHash(token);
      if (hash !== undefined) hashes.set(socket, hash);
    },
  };
}
