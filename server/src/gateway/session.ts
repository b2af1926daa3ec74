// One client socket's life: the hello, then each frame validated and dispatched to the chat operations. The parts
// live beside it: frame-intake (budget, backpressure, order), handshake, chat-operations, session-watches.
import { CloseCode, type ErrorCode, parseClientFrame } from '@chrome-plus/protocol';
import type { Queue } from 'bullmq';
import type { WebSocket } from 'ws';
import type { Config } from '../config.ts';
import type { AttachmentLimits, Refusal } from '../files/attachment-policy.ts';
import type { GenerationLog } from '../generations/log.ts';
import {
  createHistoryOperations,
  type HistoryOperations,
  type HistoryService,
  newOrigin,
} from '../history/history-operations.ts';
import type { Logger } from '../logger.ts';
import type { Providers } from '../providers/registry.ts';
import type { Authenticate } from './auth.ts';
import { type ChatOperations, createChatOperations } from './chat-operations.ts';
import type { Follower } from './follower.ts';
import { startFrameIntake } from './frame-intake.ts';
import { handshake } from './handshake.ts';
import type { AdmissionControl, UserSockets } from './limits.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { createSessionIO } from './session-io.ts';
import { createWatches, type SessionWatches } from './session-watches.ts';

export interface SessionContext {
  serverName: string;
  /** Who a token belongs to: a promise only for a device token looked up in the database (see handshake.ts). */
  authenticate: Authenticate;
  log: GenerationLog;
  queue: Queue;
  follower: Follower;
  admission: AdmissionControl;
  providers: Providers;
  defaultModel: string;
  logger: Logger;
  heartbeatMs: number;
  helloTimeoutMs: number;
  limits: Config['limits'];
  attachmentLimits: AttachmentLimits;
  loginThrottle: LoginThrottle;
  /** Counts each user's sockets on this gateway. */
  userSockets: UserSockets;
  timeouts: { queueWaitMs: number; totalMs: number };
  /** A search backend is configured (SEARXNG_URL): a `chat.send` may ask for `webSearch`. */
  webSearch?: boolean;
  /** Send buffer above which delivery to this socket pauses. */
  highWaterBytes: number;
  /** Checks that the files a request attaches exist and are the user's; returns a refusal or undefined. */
  checkFiles?(user: string, fileIds: string[]): Promise<Refusal | undefined>;
  /** The user's token budget: undefined at once when none applies, else a refusal once it is spent. */
  checkQuota?(user: string): Promise<(Refusal & { retryAfterMs?: number }) | undefined> | undefined;
  /** A socket signed in with this token (accounts/socket-revocation.ts closes it when the token is revoked). */
  signedIn?(socket: WebSocket, token: string | undefined): void;
  /** Server history of users with an account (history/); none without a database. */
  history?: HistoryService;
  hooks?: SessionHooks;
}

export interface SessionHooks {
  requestAccepted?(): void;
  requestRefused?(code: ErrorCode): void;
  frameRefused?(code: ErrorCode): void;
  /** The first delta of a request this socket sent went out, `elapsedMs` after its chat.send arrived. */
  firstDelta?(elapsedMs: number): void;
}

/** `address`: the client's address, for the sign-in throttle. */
export function startSession(socket: WebSocket, context: SessionContext, address = 'unknown'): void {
  let user: string | undefined;
  const io = createSessionIO(socket, context.hooks?.frameRefused);
  // Made at the socket's first chat frame: most sockets sit idle most of their lives, and memory is per socket.
  let watches: SessionWatches | undefined;
  let chatOperations: ChatOperations | undefined;
  let historyOperations: HistoryOperations | undefined;
  // The socket's name in the history feed: a change it makes is not echoed to it.
  let origin: string | undefined;
  function history(): HistoryOperations {
    origin ??= newOrigin();
    historyOperations ??= createHistoryOperations({
      service: context.history,
      io,
      origin,
      logger: context.logger,
      ...(context.hooks?.frameRefused !== undefined && { refused: context.hooks.frameRefused }),
    });
    return historyOperations;
  }
  function chat(): ChatOperations {
    watches ??= createWatches({
      socket,
      io,
      follower: context.follower,
      logger: context.logger,
      highWaterBytes: context.highWaterBytes,
      ...(context.hooks?.firstDelta !== undefined && { firstDelta: context.hooks.firstDelta }),
      user: () => user,
    });
    origin ??= newOrigin();
    chatOperations ??= createChatOperations(context, io, watches, origin);
    return chatOperations;
  }

  let helloTimer: NodeJS.Timeout | undefined = setTimeout(() => {
    if (user === undefined) socket.close(CloseCode.helloTimeout, 'no hello in time');
  }, context.helloTimeoutMs);

  async function handle(text: string): Promise<void> {
    const parsed = parseClientFrame(text);
    if (user === undefined) {
      const answer = handshake(parsed, context, io, socket, address);
      // A promise only while a device token is looked up in the database; the frames after the hello wait for it.
      user = answer instanceof Promise ? await answer : answer;
      if (user !== undefined) {
        clearTimeout(helloTimer);
        helloTimer = undefined;
      }
      return;
    }
    if (!parsed.ok) return io.refuse(parsed.code, parsed.message, parsed.id);
    const frame = parsed.frame;
    switch (frame.type) {
      case 'hello':
        return io.refuse('bad_request', 'already said hello');
      case 'ping': {
        // `t` is echoed as sent; one nested too deeply to serialise again is the client's fault, not ours.
        let pong: string;
        try {
          pong = JSON.stringify(frame.t === undefined ? { type: 'pong' } : { type: 'pong', t: frame.t });
        } catch {
          return io.refuse('bad_request', 'ping: t is nested too deeply to echo');
        }
        return io.sendRaw(pong);
      }
      case 'models.list':
        return io.send({ type: 'models', models: context.providers.models(), default: context.defaultModel });
      case 'chat.send':
        return chat().send(frame, user);
      case 'chat.resume':
        return chat().resume(frame, user);
      case 'chat.cancel':
        return chat().cancel(frame, user);
      case 'history.list':
      case 'history.get':
      case 'history.rename':
      case 'history.delete':
      case 'history.clear':
        return history().handle(frame, user);
    }
  }

  startFrameIntake({
    socket,
    io,
    logger: context.logger,
    framesPerSecond: context.limits.framesPerSecond,
    pendingFrames: context.limits.pendingFrames,
    pendingBytes: context.limits.pendingBytes,
    handle,
    user: () => user,
  });

  socket.on('close', () => {
    clearTimeout(helloTimer);
    if (user !== undefined) context.userSockets.close(user);
    // A closing socket never cancels: the generations go on, and a resume picks them up.
    watches?.closeAll();
    historyOperations?.close();
  });
}
