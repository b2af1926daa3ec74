// The history frames of one socket (list, get, rename, delete, clear) and the recording of a chat.send's user message.
// Only users with an account have server history: for anyone else (AUTH_TOKENS, or a gateway without a database)
// every history frame is refused with history.error `not_found`, and their client keeps its local history.
import type { ChatSendFrame, ErrorCode, HistoryClientFrame } from '@chrome-plus/protocol';
import type { SessionIO } from '../gateway/session-io.ts';
import type { Logger } from '../logger.ts';
import type { HistoryFeed, HistoryPublisher } from './history-feed.ts';
import { ConversationNotFound, type HistoryStore } from './history-store.ts';

/** What a gateway holds for history: one of each, shared by its sockets. */
export interface HistoryService {
  store: HistoryStore;
  feed: HistoryFeed;
  publisher: HistoryPublisher;
}

/** A page of changes, when the client names no limit. */
export const DEFAULT_LIST_LIMIT = 500;

let sockets = 0;
const gatewayTag = Math.random().toString(36).slice(2, 10);

/** A name for a socket, unique across gateways: the feed does not echo a change to the socket that made it. */
export function newOrigin(): string {
  sockets += 1;
  return `${gatewayTag}:${sockets}`;
}

/** The attachments' metadata a user message keeps: the fields that describe a file, never its bytes. */
function attachmentMetadata(attachments: ChatSendFrame['messages'][number]['attachments']) {
  return (attachments ?? []).map((attachment) => {
    const kept: Record<string, unknown> = { fileId: attachment.fileId };
    for (const field of ['name', 'type'] as const) {
      const value = (attachment as Record<string, unknown>)[field];
      if (typeof value === 'string') kept[field] = value.slice(0, 256);
    }
    const size = (attachment as Record<string, unknown>).size;
    if (typeof size === 'number' && Number.isFinite(size)) kept.size = size;
    return kept;
  });
}

/**
 * Records the user message of an accepted chat.send that names its conversation, and tells the user's other sockets.
 * Never throws: a database fault costs the record (logged), not the request.
 */
export async function recordSend(
  service: HistoryService,
  options: { user: string; frame: ChatSendFrame; model: string; origin: string; logger: Logger },
): Promise<void> {
  const { frame } = options;
  if (frame.conversationId === undefined) return;
  const asked = frame.messages.findLast((message) => message.role === 'user');
  if (asked === undefined) return;
  const system = frame.messages.find((message) => message.role === 'system');
  try {
    const change = await service.store.recordUserMessage({
      user: options.user,
      conversationId: frame.conversationId,
      requestId: frame.id,
      content: asked.content,
      model: options.model,
      ...(frame.title !== undefined && frame.title.trim() !== '' && { title: frame.title }),
      ...(system !== undefined && { systemPrompt: system.content }),
      ...(frame.context !== undefined && { context: frame.context }),
      attachments: attachmentMetadata(asked.attachments),
    });
    if (change !== undefined) await service.publisher.publish(change, options.origin);
  } catch (error) {
    options.logger.error({ err: error, user: options.user, id: frame.id }, 'could not record a message');
  }
}

export type HistoryOperations = ReturnType<typeof createHistoryOperations>;

export function createHistoryOperations(options: {
  service: HistoryService | undefined;
  io: SessionIO;
  origin: string;
  logger: Logger;
  /** Counts a refusal for the metrics. */
  refused?: (code: ErrorCode) => void;
}) {
  const { service, io, origin, logger } = options;
  let unfollow: (() => void) | undefined;

  function refuse(ref: string | undefined, code: ErrorCode, message: string): void {
    options.refused?.(code);
    io.send({ type: 'history.error', ...(ref !== undefined && { ref }), code, message });
  }

  const noHistory = 'this user has no server history (it needs an account): keep the history locally';

  async function handle(frame: HistoryClientFrame, user: string): Promise<void> {
    const ref = frame.ref === undefined ? {} : { ref: frame.ref };
    if (service === undefined) return refuse(frame.ref, 'not_found', noHistory);
    try {
      switch (frame.type) {
        case 'history.list': {
          const page = await service.store.changes(user, frame.after, frame.limit ?? DEFAULT_LIST_LIMIT);
          if (page === undefined) return refuse(frame.ref, 'not_found', noHistory);
          // From the first list on, this socket hears the user's changes live.
          unfollow ??= service.feed.follow(user, origin, (changed) => io.send(changed));
          return io.send({ type: 'history.changes', ...ref, ...page });
        }
        case 'history.get': {
          const found = await service.store.conversation(user, frame.conversationId, frame.after ?? 0);
          return io.send({ type: 'history.conversation', ...ref, ...found });
        }
        case 'history.rename':
        case 'history.delete':
        case 'history.clear': {
          const change =
            frame.type === 'history.rename'
              ? await service.store.rename(user, frame.conversationId, frame.title)
              : frame.type === 'history.delete'
                ? await service.store.delete(user, frame.conversationId)
                : await service.store.clear(user, frame.conversationId);
          await service.publisher.publish(change, origin);
          return io.send({
            type: 'history.saved',
            ...ref,
            conversationId: frame.conversationId,
            seq: change.seq,
          });
        }
      }
    } catch (error) {
      if (error instanceof ConversationNotFound && 'conversationId' in frame)
        return refuse(frame.ref, 'not_found', `no conversation "${frame.conversationId}"`);
      const reference = Math.random().toString(16).slice(2, 10);
      logger.error({ err: error, user, type: frame.type, ref: reference }, 'a history frame failed');
      return refuse(
        frame.ref,
        'internal',
        `the history is unavailable right now; try again (ref ${reference})`,
      );
    }
  }

  return {
    handle,
    close(): void {
      unfollow?.();
      unfollow = undefined;
    },
  };
}
