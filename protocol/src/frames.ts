// Every frame of the wire contract v1 (shared/PROTOCOL.md) as a zod schema; types derive from these.
// Written with the API zod and zod/mini share (functions: z.optional(x), x.check(z.maxLength(n)), z.looseObject),
// because `#zod` is zod on Node and zod/mini in the extension's bundle, where zod's methods weigh 400 KB.
// The checks are the ones zod's methods add (`.min(1)` on a string is `.check(z.minLength(1))`), so both accept,
// reject and word their errors alike; `npm run test` runs parse.test.ts under both (browser-zod.test.ts).
import * as z from '#zod';

/** A client-chosen request id: a UUID in practice; any short token of safe characters is accepted. */
export const requestIdSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(128),
    z.regex(/^[A-Za-z0-9._:-]+$/, 'id must be 1-128 characters of A-Z a-z 0-9 . _ : -'),
  );

export const roleSchema = z.enum(['system', 'user', 'assistant']);
export type Role = z.infer<typeof roleSchema>;

export const attachmentRefSchema = z.looseObject({
  fileId: z.string().check(z.minLength(1), z.maxLength(128)),
});
export type AttachmentRef = z.infer<typeof attachmentRefSchema>;

export const chatMessageSchema = z.looseObject({
  role: roleSchema,
  content: z.string(),
  attachments: z.optional(z.array(attachmentRefSchema).check(z.maxLength(16))),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const chatOptionsSchema = z.looseObject({
  temperature: z.optional(z.number().check(z.gte(0), z.lte(2))),
  maxTokens: z.optional(z.number().check(z.int(), z.gt(0), z.lte(1_000_000))),
});
export type ChatOptions = z.infer<typeof chatOptionsSchema>;

// ---- client → gateway ----

export const helloFrameSchema = z.object({
  type: z.literal('hello'),
  token: z.optional(z.string().check(z.maxLength(4096))),
  client: z.optional(z.string().check(z.maxLength(200))),
});

export const pingFrameSchema = z.object({ type: z.literal('ping'), t: z.optional(z.unknown()) });

export const modelsListFrameSchema = z.object({ type: z.literal('models.list') });

/** A conversation's id: chosen by the client (a UUID), per user, as request ids are. */
export const conversationIdSchema = requestIdSchema;

/** What the user was looking at when they sent a message (the page's text, or a selection), as the client shows it. */
export const messageContextSchema = z.looseObject({
  kind: z.enum(['page', 'selection']),
  title: z.optional(z.string().check(z.maxLength(2000))),
  url: z.optional(z.string().check(z.maxLength(8192))),
  text: z.optional(z.string()),
  totalCharacters: z.optional(z.number()),
});
export type MessageContext = z.infer<typeof messageContextSchema>;

export const chatSendFrameSchema = z.object({
  type: z.literal('chat.send'),
  id: requestIdSchema,
  messages: z.array(chatMessageSchema).check(z.minLength(1), z.maxLength(1000)),
  model: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  options: z.optional(chatOptionsSchema),
  /** Server history (users with an account): the conversation the last user message belongs to. */
  conversationId: z.optional(conversationIdSchema),
  /** The conversation's title, when this send creates it (default: the message's beginning). */
  title: z.optional(z.string().check(z.maxLength(200))),
  /** The page context of the last user message, kept with it in the history. */
  context: z.optional(messageContextSchema),
  /**
   * Search the web for this message (only where the welcome's `features.webSearch` says the server can): the worker
   * puts numbered results into the prompt and streams them as a delta's `webSearch`.
   */
  webSearch: z.optional(z.boolean()),
  /** What to search for (default: the last user message's text, which may hold a whole page). */
  searchQuery: z.optional(z.string().check(z.maxLength(500))),
});

// History (server-side conversations of users with an account): `ref`, any short string, is echoed in the answer.
const historyRefSchema = z.optional(z.string().check(z.maxLength(128)));

export const historyListFrameSchema = z.object({
  type: z.literal('history.list'),
  ref: historyRefSchema,
  /** The cursor: the changes after it (0: everything). */
  after: z.number().check(z.int(), z.gte(0)),
  limit: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1000))),
});

export const historyGetFrameSchema = z.object({
  type: z.literal('history.get'),
  ref: historyRefSchema,
  conversationId: conversationIdSchema,
  /** Only the messages changed after this cursor (0 or absent: all). */
  after: z.optional(z.number().check(z.int(), z.gte(0))),
});

export const historyRenameFrameSchema = z.object({
  type: z.literal('history.rename'),
  ref: historyRefSchema,
  conversationId: conversationIdSchema,
  title: z.string().check(z.maxLength(200)),
});

export const historyDeleteFrameSchema = z.object({
  type: z.literal('history.delete'),
  ref: historyRefSchema,
  conversationId: conversationIdSchema,
});

export const historyClearFrameSchema = z.object({
  type: z.literal('history.clear'),
  ref: historyRefSchema,
  conversationId: conversationIdSchema,
});

export const chatResumeFrameSchema = z.object({
  type: z.literal('chat.resume'),
  id: requestIdSchema,
  after: z.number().check(z.int(), z.gte(0)),
});

export const chatCancelFrameSchema = z.object({ type: z.literal('chat.cancel'), id: requestIdSchema });

export const clientFrameSchema = z.discriminatedUnion('type', [
  helloFrameSchema,
  pingFrameSchema,
  modelsListFrameSchema,
  chatSendFrameSchema,
  chatResumeFrameSchema,
  chatCancelFrameSchema,
  historyListFrameSchema,
  historyGetFrameSchema,
  historyRenameFrameSchema,
  historyDeleteFrameSchema,
  historyClearFrameSchema,
]);

export type HelloFrame = z.infer<typeof helloFrameSchema>;
export type PingFrame = z.infer<typeof pingFrameSchema>;
export type ChatSendFrame = z.infer<typeof chatSendFrameSchema>;
export type ChatResumeFrame = z.infer<typeof chatResumeFrameSchema>;
export type ChatCancelFrame = z.infer<typeof chatCancelFrameSchema>;
export type HistoryListFrame = z.infer<typeof historyListFrameSchema>;
export type HistoryGetFrame = z.infer<typeof historyGetFrameSchema>;
export type HistoryRenameFrame = z.infer<typeof historyRenameFrameSchema>;
export type HistoryDeleteFrame = z.infer<typeof historyDeleteFrameSchema>;
export type HistoryClearFrame = z.infer<typeof historyClearFrameSchema>;
export type HistoryClientFrame =
  | HistoryListFrame
  | HistoryGetFrame
  | HistoryRenameFrame
  | HistoryDeleteFrame
  | HistoryClearFrame;
export type ClientFrame = z.infer<typeof clientFrameSchema>;
// Read through `_zod.def`, the internals zod and zod/mini share (zod/mini schemas have no `.options`).
export const clientFrameTypes = clientFrameSchema._zod.def.options.flatMap(
  (option) => option._zod.def.shape.type._zod.def.values,
);

// ---- gateway → client ----

export const errorCodeSchema = z.enum([
  'bad_request',
  'unauthorized',
  'not_found',
  'rate_limited',
  'too_large',
  'overloaded',
  'provider_error',
  'provider_timeout',
  'model_not_found',
  'expired',
  'internal',
  /** The user's daily token budget is spent; the message says when it resets. */
  'quota_exceeded',
  /** A `chat.send` asked for a web search and this server has no search backend. */
  'search_unavailable',
]);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

export const limitsSchema = z.looseObject({
  maxFrameBytes: z.number(),
  requestsPerMinute: z.optional(z.number()),
  concurrentGenerations: z.optional(z.number()),
  maxUploadBytes: z.optional(z.number()),
});

/** What this server can do beyond the contract; a missing feature is off. */
export const featuresSchema = z.looseObject({
  /** A `chat.send` may ask for `webSearch`. */
  webSearch: z.optional(z.boolean()),
});
export type Features = z.infer<typeof featuresSchema>;

export const welcomeFrameSchema = z.object({
  type: z.literal('welcome'),
  user: z.string(),
  server: z.string(),
  heartbeatMs: z.number(),
  limits: limitsSchema,
  features: z.optional(featuresSchema),
});

export const pongFrameSchema = z.object({ type: z.literal('pong'), t: z.optional(z.unknown()) });

export const modelInfoSchema = z.looseObject({
  id: z.string(),
  provider: z.string(),
  reasoning: z.optional(z.boolean()),
  vision: z.optional(z.boolean()),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;

export const modelsFrameSchema = z.object({
  type: z.literal('models'),
  models: z.array(modelInfoSchema),
  default: z.string(),
});

export const usageSchema = z.object({ promptTokens: z.number(), completionTokens: z.number() });
export type Usage = z.infer<typeof usageSchema>;

export const chatAcceptedFrameSchema = z.object({
  type: z.literal('chat.accepted'),
  id: z.string(),
  queued: z.optional(z.number()),
});

/** One web search result as the model was given it: cite it as `[n]`. */
export const webSourceSchema = z.looseObject({
  n: z.number(),
  url: z.string(),
  title: z.string(),
  snippet: z.optional(z.string()),
});
export type WebSource = z.infer<typeof webSourceSchema>;

/** What the web search of a request found, or why it found nothing; the answer goes on either way. */
export const webSearchOutcomeSchema = z.looseObject({
  query: z.string(),
  sources: z.array(webSourceSchema),
  /** Set when the search failed (down, slow, unreadable answer): the answer is written without web results. */
  error: z.optional(z.string()),
});
export type WebSearchOutcome = z.infer<typeof webSearchOutcomeSchema>;

export const chatDeltaFrameSchema = z.object({
  type: z.literal('chat.delta'),
  id: z.string(),
  seq: z.number(),
  text: z.optional(z.string()),
  reasoning: z.optional(z.string()),
  /** The request's web search (a delta of its own, before the answer's text; again after a `chat.restart`). */
  webSearch: z.optional(webSearchOutcomeSchema),
});

export const chatRestartFrameSchema = z.object({
  type: z.literal('chat.restart'),
  id: z.string(),
  seq: z.number(),
});

export const chatDoneFrameSchema = z.object({
  type: z.literal('chat.done'),
  id: z.string(),
  seq: z.number(),
  finishReason: z.string(),
  model: z.string(),
  usage: z.optional(usageSchema),
});

export const chatErrorFrameSchema = z.object({
  type: z.literal('chat.error'),
  id: z.string(),
  seq: z.optional(z.number()),
  code: errorCodeSchema,
  message: z.string(),
  retryable: z.boolean(),
  retryAfterMs: z.optional(z.number()),
});

export const chatCancelledFrameSchema = z.object({
  type: z.literal('chat.cancelled'),
  id: z.string(),
  seq: z.number(),
});

export const errorFrameSchema = z.object({
  type: z.literal('error'),
  code: errorCodeSchema,
  message: z.string(),
  retryAfterMs: z.optional(z.number()),
});

/** A conversation in the history; a tombstone (`deleted`) carries only id, seq and deletedAt. */
export const historyConversationSchema = z.looseObject({
  id: z.string(),
  /** The change that last touched it (the cursor's unit). */
  seq: z.number(),
  deleted: z.optional(z.boolean()),
  deletedAt: z.optional(z.string()),
  title: z.optional(z.string()),
  model: z.optional(z.nullable(z.string())),
  systemPrompt: z.optional(z.nullable(z.string())),
  createdAt: z.optional(z.string()),
  updatedAt: z.optional(z.string()),
  /** The change that cleared its messages (0: never): a copy older than this holds messages that are gone. */
  clearedSeq: z.optional(z.number()),
});
export type HistoryConversation = z.infer<typeof historyConversationSchema>;

export const historyMessageSchema = z.looseObject({
  requestId: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  seq: z.number(),
  createdAt: z.string(),
  /** user: 'sent'; assistant: how the answer ended. */
  status: z.enum(['sent', 'done', 'error', 'cancelled']),
  context: z.optional(messageContextSchema),
  attachments: z.optional(z.array(z.looseObject({ fileId: z.string() }))),
  reasoning: z.optional(z.string()),
  model: z.optional(z.string()),
  finishReason: z.optional(z.string()),
  usage: z.optional(
    z.looseObject({ promptTokens: z.number(), completionTokens: z.number(), estimated: z.boolean() }),
  ),
  error: z.optional(z.looseObject({ code: z.string(), message: z.string() })),
});
export type HistoryMessage = z.infer<typeof historyMessageSchema>;

export const historyChangesFrameSchema = z.object({
  type: z.literal('history.changes'),
  ref: historyRefSchema,
  /** Changed since `after`, in the order of their seq, tombstones included. */
  conversations: z.array(historyConversationSchema),
  /** The next `after`. */
  cursor: z.number(),
  /** More changes wait beyond `cursor`: ask again. */
  more: z.boolean(),
});

export const historyConversationFrameSchema = z.object({
  type: z.literal('history.conversation'),
  ref: historyRefSchema,
  conversation: historyConversationSchema,
  /** Its messages changed after the `after` asked for, in order. */
  messages: z.array(historyMessageSchema),
});

export const historySavedFrameSchema = z.object({
  type: z.literal('history.saved'),
  ref: historyRefSchema,
  conversationId: z.string(),
  seq: z.number(),
});

export const historyChangeKindSchema = z.enum(['message', 'renamed', 'deleted', 'cleared']);
export type HistoryChangeKind = z.infer<typeof historyChangeKindSchema>;

/** Live: another socket (or a worker) changed this user's history. Without conversationId: list since your cursor. */
export const historyChangedFrameSchema = z.object({
  type: z.literal('history.changed'),
  conversationId: z.optional(z.string()),
  seq: z.optional(z.number()),
  change: z.optional(historyChangeKindSchema),
});

export const historyErrorFrameSchema = z.object({
  type: z.literal('history.error'),
  ref: historyRefSchema,
  code: errorCodeSchema,
  message: z.string(),
});

export const serverFrameSchema = z.discriminatedUnion('type', [
  welcomeFrameSchema,
  pongFrameSchema,
  modelsFrameSchema,
  chatAcceptedFrameSchema,
  chatDeltaFrameSchema,
  chatRestartFrameSchema,
  chatDoneFrameSchema,
  chatErrorFrameSchema,
  chatCancelledFrameSchema,
  errorFrameSchema,
  historyChangesFrameSchema,
  historyConversationFrameSchema,
  historySavedFrameSchema,
  historyChangedFrameSchema,
  historyErrorFrameSchema,
]);

export const serverFrameTypes = serverFrameSchema._zod.def.options.flatMap(
  (option) => option._zod.def.shape.type._zod.def.values,
);

export type WelcomeFrame = z.infer<typeof welcomeFrameSchema>;
export type ModelsFrame = z.infer<typeof modelsFrameSchema>;
export type ChatAcceptedFrame = z.infer<typeof chatAcceptedFrameSchema>;
export type ChatDeltaFrame = z.infer<typeof chatDeltaFrameSchema>;
export type ChatRestartFrame = z.infer<typeof chatRestartFrameSchema>;
export type ChatDoneFrame = z.infer<typeof chatDoneFrameSchema>;
export type ChatErrorFrame = z.infer<typeof chatErrorFrameSchema>;
export type ChatCancelledFrame = z.infer<typeof chatCancelledFrameSchema>;
export type ErrorFrame = z.infer<typeof errorFrameSchema>;
export type HistoryChangesFrame = z.infer<typeof historyChangesFrameSchema>;
export type HistoryConversationFrame = z.infer<typeof historyConversationFrameSchema>;
export type HistorySavedFrame = z.infer<typeof historySavedFrameSchema>;
export type HistoryChangedFrame = z.infer<typeof historyChangedFrameSchema>;
export type HistoryErrorFrame = z.infer<typeof historyErrorFrameSchema>;
export type ServerFrame = z.infer<typeof serverFrameSchema>;

/** The events of one request's log: every one carries `seq`. */
export type GenerationEvent =
  | ChatDeltaFrame
  | ChatRestartFrame
  | ChatDoneFrame
  | (ChatErrorFrame & { seq: number })
  | ChatCancelledFrame;

export const terminalEventTypes = ['chat.done', 'chat.error', 'chat.cancelled'] as const;
export type TerminalEventType = (typeof terminalEventTypes)[number];

export function isTerminalEvent(frame: { type: string }): boolean {
  return (terminalEventTypes as readonly string[]).includes(frame.type);
}
