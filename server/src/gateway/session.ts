// One client socket's life: hello, frame validation and limits, and the chat operations on its requests.
import { randomUUID } from 'node:crypto';
import {
  type ChatCancelFrame,
  type ChatResumeFrame,
  type ChatSendFrame,
  CloseCode,
  type ErrorCode,
  HELLO_TIMEOUT_MS,
  parseClientFrame,
  type ServerFrame,
} from '@chrome-plus/protocol';
import type { Queue } from 'bullmq';
import type { WebSocket } from 'ws';
import { type AttachmentLimits, attachedFiles, type Refusal } from '../files/attachment-policy.ts';
import { requestKey } from '../generations/keys.ts';
import type { GenerationLog } from '../generations/log.ts';
import type { ChatJob } from '../jobs.ts';
import type { Logger } from '../logger.ts';
import type { Providers } from '../providers/registry.ts';
import type { Follower, Watch } from './follower.ts';
import { type AdmissionControl, createFrameBudget, type UserSockets } from './limits.ts';
import type { LoginThrottle } from './login-throttle.ts';

export interface SessionContext {
  serverName: string;
  authenticate(token: string | undefined): string | undefined;
  log: GenerationLog;
  queue: Queue;
  follower: Follower;
  admission: AdmissionControl;
  providers: Providers;
  defaultModel: string;
  logger: Logger;
  heartbeatMs: number;
  limits: {
    maxFrameBytes: number;
    framesPerSecond: number;
    requestsPerMinute: number;
    concurrentGenerations: number;
    maxUploadBytes: number;
    socketsPerUser: number;
    /** Frames, and their bytes, waiting to be handled before the gateway stops reading the socket. */
    pendingFrames: number;
    pendingBytes: number;
  };
  attachmentLimits: AttachmentLimits;
  loginThrottle: LoginThrottle;
  /** Counts each user's sockets on this gateway. */
  userSockets: UserSockets;
  timeouts: { queueWaitMs: number; totalMs: number };
  /** Send buffer above which delivery to this socket pauses. */
  highWaterBytes: number;
  /** Checks that the files a request attaches exist and are the user's; returns a refusal or undefined. */
  checkFiles?(user: string, fileIds: string[]): Promise<Refusal | undefined>;
  hooks?: SessionHooks;
}

export interface SessionHooks {
  requestAccepted?(): void;
  requestRefused?(code: ErrorCode): void;
  frameRefused?(code: ErrorCode): void;
  /** The first delta of a request this socket sent went out, `elapsedMs` after its chat.send arrived. */
  firstDelta?(elapsedMs: number): void;
}

/** Refusing a flood costs as little as possible: at most one error frame a second. */
const FLOOD_ERROR_INTERVAL_MS = 1_000;
/** Requests per socket whose end is remembered (a cancel that crosses the terminal event in flight). */
const ENDED_REMEMBERED = 64;
/** A client that keeps flooding after being told is disconnected. */
const FLOOD_CLOSE_AFTER = 200;

/** `address`: the client's address, for the sign-in throttle. */
export function startSession(socket: WebSocket, context: SessionContext, address = 'unknown'): void {
  const { log, logger } = context;
  let user: string | undefined;
  const watches = new Map<string, Watch>();
  /** The last requests whose terminal event this socket received, so that a late cancel does not send it again. */
  const endedHere = new Set<string>();
  const budget = createFrameBudget(context.limits.framesPerSecond);
  let refusedFrames = 0;
  let lastFloodError = 0;
  // Frames are handled one after another, so that a cancel cannot overtake the send it cancels.
  let queue: Promise<void> = Promise.resolve();
  let pendingFrames = 0;
  let pendingBytes = 0;

  const helloTimer = setTimeout(() => {
    if (user === undefined) socket.close(CloseCode.helloTimeout, 'no hello in time');
  }, HELLO_TIMEOUT_MS);

  function send(frame: ServerFrame): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
  }

  function refuse(code: ErrorCode, message: string, id?: string, retryAfterMs?: number): void {
    context.hooks?.frameRefused?.(code);
    if (id === undefined) {
      send({ type: 'error', code, message, ...(retryAfterMs !== undefined && { retryAfterMs }) });
    } else {
      send({
        type: 'chat.error',
        id,
        code,
        message,
        retryable: code === 'rate_limited' || code === 'overloaded',
        ...(retryAfterMs !== undefined && { retryAfterMs }),
      });
    }
  }

  /** `sentAt`: when the chat.send of a new request arrived, to time its first delta. */
  function watch(key: string, id: string, after: number, sentAt?: number): void {
    watches.get(key)?.close();
    const firstDelta = sentAt === undefined ? undefined : context.hooks?.firstDelta;
    let timing = firstDelta !== undefined;
    const handle = context.follower.watch({
      key,
      id,
      after,
      send: (frame) => {
        if (socket.readyState === socket.OPEN) socket.send(frame);
        // Only until the first event: later frames cost nothing here.
        if (timing) {
          timing = false;
          if (frame.includes('"type":"chat.delta"')) firstDelta?.(Date.now() - sentAt!);
        }
      },
      congested: () => socket.bufferedAmount > context.highWaterBytes,
      stuck: () => {
        logger.info({ user }, 'closing a socket that stopped reading');
        socket.close(CloseCode.overloaded, 'too slow a reader: reconnect and resume');
      },
      ended: () => {
        if (watches.get(key) === handle) watches.delete(key);
        endedHere.add(key);
        if (endedHere.size > ENDED_REMEMBERED) endedHere.delete(endedHere.values().next().value ?? key);
      },
    });
    watches.set(key, handle);
  }

  async function chatSend(frame: ChatSendFrame, owner: string): Promise<void> {
    const sentAt = Date.now();
    const model = frame.model ?? context.defaultModel;
    const key = requestKey(owner, frame.id);
    // The cheap checks first: counting attachments costs no Redis call.
    const attached = attachedFiles(frame.messages, context.attachmentLimits);
    if ('code' in attached) {
      context.hooks?.requestRefused?.(attached.code);
      return refuse(attached.code, attached.message, frame.id);
    }
    const existing = await log.state(key);
    if (existing !== undefined) {
      // The first send wins: a repeat is a resume from the start.
      send({ type: 'chat.accepted', id: frame.id });
      if (existing.status === 'pending') await enqueue(key, owner, frame, existing.model);
      return resumeFrom(key, frame.id, 0, existing);
    }
    if (context.providers.resolve(model) === undefined) {
      context.hooks?.requestRefused?.('model_not_found');
      return refuse(
        'model_not_found',
        `model "${model}" is not available; send models.list for the list`,
        frame.id,
      );
    }
    const now = Date.now();
    // The user's slot is held at most for the whole life of a request; the request itself must be started by a
    // worker within the queue wait (the worker then moves its deadline to the end of the generation).
    const deadline = now + context.timeouts.queueWaitMs + context.timeouts.totalMs + 60_000;
    const admission = await context.admission.admit(owner, key, deadline);
    if (!admission.ok) {
      context.hooks?.requestRefused?.('rate_limited');
      return refuse('rate_limited', `rate limited: ${admission.message}`, frame.id, admission.retryAfterMs);
    }
    // Looking the files up costs a Redis call each: only for a request the limits admitted.
    if (attached.fileIds.length > 0 && context.checkFiles !== undefined) {
      const refusal = await context.checkFiles(owner, attached.fileIds);
      if (refusal !== undefined) {
        await context.admission.release(owner, key);
        context.hooks?.requestRefused?.(refusal.code);
        return refuse(refusal.code, refusal.message, frame.id);
      }
    }
    const claim = await log.submit(key, { user: owner, id: frame.id, model });
    if (!claim.created) {
      await context.admission.release(owner, key);
      send({ type: 'chat.accepted', id: frame.id });
      return resumeFrom(key, frame.id, 0);
    }
    await log.setDeadline(key, now + context.timeouts.queueWaitMs + 5_000);
    await enqueue(key, owner, frame, model);
    context.hooks?.requestAccepted?.();
    send({ type: 'chat.accepted', id: frame.id });
    watch(key, frame.id, 0, sentAt);
  }

  async function enqueue(key: string, owner: string, frame: ChatSendFrame, model: string): Promise<void> {
    const data: ChatJob = {
      key,
      user: owner,
      id: frame.id,
      model,
      messages: frame.messages,
      ...(frame.options !== undefined && { options: frame.options }),
    };
    // The job id is the request key: adding it twice (a retried send) is a no-op in BullMQ.
    await context.queue.add('chat', data, { jobId: key });
  }

  async function resumeFrom(
    key: string,
    id: string,
    after: number,
    known?: Awaited<ReturnType<GenerationLog['state']>>,
  ): Promise<void> {
    const state = known ?? (await log.state(key));
    if (state === undefined) return refuse('not_found', `no request "${id}"`, id);
    if (state.terminal && !state.logExists) {
      return refuse('expired', `request "${id}" ended too long ago: its answer is no longer kept`, id);
    }
    if (after > state.seq) {
      // Nothing past the end will ever come for a finished request, and a running one never skips seqs.
      return refuse('bad_request', `request "${id}" has no event ${after}: its last is ${state.seq}`, id);
    }
    watch(key, id, after);
  }

  async function chatResume(frame: ChatResumeFrame, owner: string): Promise<void> {
    return resumeFrom(requestKey(owner, frame.id), frame.id, frame.after);
  }

  async function chatCancel(frame: ChatCancelFrame, owner: string): Promise<void> {
    const key = requestKey(owner, frame.id);
    const outcome = await log.requestCancel(key);
    if (outcome === 'missing') return refuse('not_found', `no request "${frame.id}"`, frame.id);
    if (outcome === 'pending') {
      // Still queued: take it out of the queue so that no worker ever calls the model for it.
      const removed = await context.queue.remove(key);
      if (removed === 1 || (await context.queue.getJob(key)) === undefined) {
        await log.finish(key, '', { type: 'chat.cancelled' }, owner);
      }
    }
    // A watch of this socket delivers the terminal event, or already did (perhaps while we awaited): never twice.
    if (!watches.has(key) && !endedHere.has(key)) {
      // The socket receives the request's terminal event: follow from just before the end, or from now.
      const state = await log.state(key);
      if (state !== undefined) watch(key, frame.id, state.terminal ? state.seq - 1 : state.seq);
    }
  }

  async function handle(text: string): Promise<void> {
    const parsed = parseClientFrame(text);
    if (user === undefined) {
      if (!parsed.ok || parsed.frame.type !== 'hello') {
        refuse('unauthorized', 'the first frame must be hello');
        socket.close(CloseCode.unauthorized, 'hello first');
        return;
      }
      const waitMs = context.loginThrottle.waitMs(address);
      if (waitMs > 0) {
        // The token is not even looked at: a guesser learns nothing while it waits.
        refuse(
          'rate_limited',
          'too many failed sign-ins from this address: wait, then try again',
          undefined,
          waitMs,
        );
        socket.close(CloseCode.overloaded, 'too many failed sign-ins');
        return;
      }
      const authenticated = context.authenticate(parsed.frame.token);
      if (authenticated === undefined) {
        context.loginThrottle.failed(address);
        refuse('unauthorized', 'the token is missing or not valid');
        socket.close(CloseCode.unauthorized, 'unauthorized');
        return;
      }
      if (!context.userSockets.open(authenticated)) {
        // One token must not be able to take every file descriptor of the gateway from everyone else.
        refuse(
          'rate_limited',
          `too many sockets: at most ${context.limits.socketsPerUser} per user on one gateway`,
          undefined,
          5_000,
        );
        socket.close(CloseCode.overloaded, 'too many sockets for this user');
        return;
      }
      user = authenticated;
      clearTimeout(helloTimer);
      send({
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
      });
      return;
    }
    if (!parsed.ok) return refuse(parsed.code, parsed.message, parsed.id);
    const frame = parsed.frame;
    switch (frame.type) {
      case 'hello':
        return refuse('bad_request', 'already said hello');
      case 'ping': {
        // `t` is echoed as sent; one nested too deeply to serialise again is the client's fault, not ours.
        let pong: string;
        try {
          pong = JSON.stringify(frame.t === undefined ? { type: 'pong' } : { type: 'pong', t: frame.t });
        } catch {
          return refuse('bad_request', 'ping: t is nested too deeply to echo');
        }
        if (socket.readyState === socket.OPEN) socket.send(pong);
        return;
      }
      case 'models.list':
        send({ type: 'models', models: context.providers.models(), default: context.defaultModel });
        return;
      case 'chat.send':
        return chatSend(frame, user);
      case 'chat.resume':
        return chatResume(frame, user);
      case 'chat.cancel':
        return chatCancel(frame, user);
    }
  }

  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      socket.close(CloseCode.binaryFrame, 'text frames only');
      return;
    }
    if (!budget.take()) {
      refusedFrames++;
      if (refusedFrames > FLOOD_CLOSE_AFTER) {
        socket.close(CloseCode.policy, 'too many frames');
        return;
      }
      const time = Date.now();
      if (time - lastFloodError >= FLOOD_ERROR_INTERVAL_MS) {
        lastFloodError = time;
        refuse(
          'rate_limited',
          `too many frames: at most ${context.limits.framesPerSecond} a second`,
          undefined,
          budget.retryAfterMs(),
        );
      }
      return;
    }
    refusedFrames = 0;
    // ws hands text frames over as a Buffer (binaryType "nodebuffer"); decoding it in place avoids a copy.
    const text = Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data).toString('utf8');
    pendingFrames++;
    pendingBytes += text.length;
    // Backpressure: stop reading the socket while its frames wait; TCP holds the rest at the client's end. Frames
    // already read still arrive (the rest of one network read, at most one frame more than maxPayload), so what
    // waits in memory stays within pendingBytes + 64 KiB + maxFrameBytes per socket, and nothing is dropped.
    if (pendingFrames >= context.limits.pendingFrames || pendingBytes >= context.limits.pendingBytes)
      socket.pause();
    queue = queue
      .then(() => handle(text))
      .catch((error: unknown) => {
        // The cause stays in our logs; the client gets a reference to quote, never our internals.
        const ref = randomUUID().slice(0, 8);
        logger.error({ err: error, user, ref }, 'handling a frame failed');
        refuse('internal', `the gateway could not handle this frame; try again (ref ${ref})`);
      })
      .finally(() => {
        pendingFrames--;
        pendingBytes -= text.length;
        if (
          socket.isPaused &&
          pendingFrames < context.limits.pendingFrames &&
          pendingBytes < context.limits.pendingBytes
        )
          socket.resume();
      });
  });

  socket.on('close', () => {
    clearTimeout(helloTimer);
    if (user !== undefined) context.userSockets.close(user);
    // A closing socket never cancels: the generations go on, and a resume picks them up.
    for (const handle of watches.values()) handle.close();
    watches.clear();
  });
}
