// How the server's history becomes this browser's copy: its conversations and messages merged into the local records.
import type { AnswerError } from '@chrome-plus/client';
import type {
  HistoryConversation,
  HistoryMessage,
  MessageContext as WireContext,
} from '@chrome-plus/protocol';
import type {
  AssistantMessage,
  AttachmentInfo,
  Conversation,
  MessageContext,
  StoredMessage,
  UserMessage,
} from './types.ts';

/** The id of a message this browser first learnt of from the server; its own messages have UUIDs. */
const serverIdPrefix = 'server:';

function time(iso: string | undefined, fallback: number): number {
  const parsed = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isFinite(parsed) ? parsed : fallback;
}

/** A message's page or selection as the server keeps it (what chat.send's `context` carries). */
export function wireContext(context: MessageContext): WireContext {
  return { ...context };
}

function localContext(context: WireContext | undefined): MessageContext | undefined {
  if (context === undefined) return undefined;
  const base = { title: context.title ?? '', url: context.url ?? '', text: context.text ?? '' };
  if (context.kind === 'selection') return { kind: 'selection', ...base };
  return { kind: 'page', ...base, totalCharacters: context.totalCharacters ?? base.text.length };
}

function localAttachments(message: HistoryMessage): AttachmentInfo[] | undefined {
  if (!message.attachments?.length) return undefined;
  return message.attachments.map((attachment) => {
    const { name, type, size } = attachment as Record<string, unknown>;
    return {
      fileId: attachment.fileId,
      name: typeof name === 'string' ? name : attachment.fileId,
      type: typeof type === 'string' ? type : 'application/octet-stream',
      size: typeof size === 'number' ? size : 0,
    };
  });
}

/** The local record of a server conversation (not a tombstone); `serverSeq` is left as it was until its messages are in. */
export function localConversation(
  server: HistoryConversation,
  existing: Conversation | undefined,
  now: number,
): Conversation {
  const conversation: Conversation = {
    ...existing,
    id: server.id,
    title: server.title ?? existing?.title ?? '',
    createdAt: existing?.createdAt ?? time(server.createdAt, now),
    updatedAt: Math.max(existing?.updatedAt ?? 0, time(server.updatedAt, now)),
  };
  return conversation;
}

/** A server message as a new local one; its id derives from its request, so a second sync finds it again. */
function newLocalMessage(conversationId: string, message: HistoryMessage, now: number): StoredMessage {
  const base = {
    id: `${serverIdPrefix}${message.role}:${message.requestId}`,
    conversationId,
    content: message.content,
    createdAt: time(message.createdAt, now),
    requestId: message.requestId,
  };
  if (message.role === 'user') {
    const user: UserMessage = { ...base, role: 'user' };
    const context = localContext(message.context);
    if (context) user.context = context;
    const attachments = localAttachments(message);
    if (attachments) user.attachments = attachments;
    return user;
  }
  return withServerAnswer({ ...base, role: 'assistant', status: 'done', reasoning: '', lastSeq: 0 }, message);
}

/** An answer as the server recorded it when it ended. */
function withServerAnswer(answer: AssistantMessage, message: HistoryMessage): AssistantMessage {
  const status = message.status === 'sent' ? 'done' : message.status;
  const next: AssistantMessage = {
    ...answer,
    content: message.content,
    reasoning: message.reasoning ?? '',
    status,
    remote: undefined,
    request: undefined,
  };
  if (message.model !== undefined) next.model = message.model;
  if (message.finishReason !== undefined) next.finishReason = message.finishReason;
  if (message.usage !== undefined)
    next.usage = {
      promptTokens: message.usage.promptTokens,
      completionTokens: message.usage.completionTokens,
    };
  if (message.error !== undefined) {
    const error: AnswerError = {
      code: message.error.code as AnswerError['code'],
      message: message.error.message,
      retryable: false,
    };
    next.error = error;
  }
  return next;
}

export interface MergeOptions {
  /** The server cleared the conversation since this copy was taken: its recorded messages are gone. */
  cleared: boolean;
  /** Whether this browser follows an answer live (its stream, not the record, is the truth meanwhile). */
  isStreaming(requestId: string): boolean;
  now: number;
}

export interface MergeResult {
  put: StoredMessage[];
  remove: string[];
  /** Answers still being written on another device: to follow from their first event. */
  follow: AssistantMessage[];
}

/** Merges the messages of a `history.conversation` (in seq order) into the local ones of that conversation. */
export function mergeMessages(
  conversationId: string,
  local: readonly StoredMessage[],
  server: readonly HistoryMessage[],
  options: MergeOptions,
): MergeResult {
  const result: MergeResult = { put: [], remove: [], follow: [] };
  const kept = new Map<string, StoredMessage>();
  const keyOf = (role: string, requestId: string) => `${role}:${requestId}`;
  for (const message of local) {
    if (options.cleared) {
      // What was recorded is gone; what the server has not seen yet (or still streams here) stays.
      const stays =
        message.role === 'user' ? message.syncState === 'pending' : options.isStreaming(message.requestId);
      if (!stays) {
        result.remove.push(message.id);
        continue;
      }
    }
    // A message from before the server kept a history has no request: it is only ever this browser's.
    kept.set(message.requestId === undefined ? message.id : keyOf(message.role, message.requestId), message);
  }
  for (const message of server) {
    const existing = kept.get(keyOf(message.role, message.requestId));
    if (existing === undefined) {
      const created = newLocalMessage(conversationId, message, options.now);
      kept.set(keyOf(message.role, message.requestId), created);
      result.put.push(created);
    } else if (existing.role === 'user') {
      if (existing.syncState === 'pending') {
        const { syncState: _recorded, ...synced } = existing;
        kept.set(keyOf('user', message.requestId), synced);
        result.put.push(synced);
      }
    } else if (!options.isStreaming(existing.requestId)) {
      const updated = withServerAnswer(existing, message);
      if (updated.content !== existing.content || updated.status !== existing.status)
        result.put.push(updated);
    }
  }
  // Another device's last question with no answer yet is being answered there: follow it. (This device's own
  // questions have their answer here from the start.)
  const lastUser = [...kept.values()]
    .filter((message): message is UserMessage => message.role === 'user')
    .sort((left, right) => left.createdAt - right.createdAt)
    .at(-1);
  if (
    lastUser?.requestId !== undefined &&
    lastUser.id.startsWith(serverIdPrefix) &&
    !kept.has(keyOf('assistant', lastUser.requestId))
  ) {
    const placeholder: AssistantMessage = {
      id: `${serverIdPrefix}assistant:${lastUser.requestId}`,
      conversationId,
      role: 'assistant',
      content: '',
      reasoning: '',
      createdAt: lastUser.createdAt + 1,
      requestId: lastUser.requestId,
      status: 'streaming',
      lastSeq: 0,
      remote: true,
    };
    result.put.push(placeholder);
    result.follow.push(placeholder);
  }
  return result;
}
