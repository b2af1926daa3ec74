// A socket's first frame: hello with a token, checked against the sign-in throttle, the tokens and the per-user
// socket cap; answered with welcome, or refused and closed. Answered at once, except for a device token the gateway
// does not hold in memory yet (minted through another gateway a moment ago): that one is looked up in the database,
// after the throttle.
import { type ClientFrame, CloseCode, type ParseResult } from '@chrome-plus/protocol';
import type { WebSocket } from 'ws';
import type { MaybePromise } from './auth.ts';
import type { SessionContext } from './session.ts';
import type { SessionIO } from './session-io.ts';

/**
 * The user the socket belongs to from now on, or undefined when it was refused (and is closing); a promise only while
 * the token is looked up in the database.
 */
export function handshake(
  parsed: ParseResult<ClientFrame>,
  context: SessionContext,
  io: SessionIO,
  socket: WebSocket,
  address: string,
): MaybePromise<string | undefined> {
  const { refuse } = io;
  if (!parsed.ok || parsed.frame.type !== 'hello') {
    refuse('unauthorized', 'the first frame must be hello');
    socket.close(CloseCode.unauthorized, 'hello first');
    return undefined;
  }
  const waitMs = context.loginThrottle.waitMs(address);
  if (waitMs > 0) {
    // The token is not even looked at (nor the database asked): a guesser learns nothing while it waits.
    refuse(
      'rate_limited',
      'too many failed sign-ins from this address: wait, then try again',
      undefined,
      waitMs,
    );
    socket.close(CloseCode.overloaded, 'too many failed sign-ins');
    return undefined;
  }
  const token = parsed.frame.token;
  const user = context.authenticate(token);
  if (user instanceof Promise)
    return user.then((found) => {
      // The client may have gone (or the hello timer closed it) while the database answered.
      if (socket.readyState === socket.OPEN) return admit(found, token, context, io, socket, address);
      if (found === undefined) context.loginThrottle.failed(address);
      return undefined;
    });
  return admit(user, token, context, io, socket, address);
}

function admit(
  user: string | undefined,
  token: string | undefined,
  context: SessionContext,
  io: SessionIO,
  socket: WebSocket,
  address: string,
): string | undefined {
  const { refuse } = io;
  if (user === undefined) {
    context.loginThrottle.failed(address);
    refuse('unauthorized', 'the token is missing or not valid');
    socket.close(CloseCode.unauthorized, 'unauthorized');
    return undefined;
  }
  if (!context.userSockets.open(user)) {
    // One token must not be able to take every file descriptor of the gateway from everyone else.
    const message = `too many sockets: at most ${context.limits.socketsPerUser} per user on one gateway`;
    refuse('rate_limited', message, undefined, 5_000);
    socket.close(CloseCode.overloaded, 'too many sockets for this user');
    return undefined;
  }
  context.signedIn?.(socket, token);
  io.send({
    type: 'welcome',
    user,
    server: context.serverName,
    heartbeatMs: context.heartbeatMs,
    limits: {
      maxFrameBytes: context.limits.maxFrameBytes,
      requestsPerMinute: context.limits.requestsPerMinute,
      concurrentGenerations: context.limits.concurrentGenerations,
      maxUploadBytes: context.limits.maxUploadBytes,
    },
    features: { webSearch: context.webSearch === true },
  });
  return user;
}
