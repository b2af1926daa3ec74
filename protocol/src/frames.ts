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

export const chatSendFrameSchema = z.object({
  type: z.literal('chat.send'),
  id: requestIdSchema,
  messages: z.array(chatMessageSchema).check(z.minLength(1), z.maxLength(1000)),
  model: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  options: z.optional(chatOptionsSchema),
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
]);

export type HelloFrame = z.infer<typeof helloFrameSchema>;
export type PingFrame = z.infer<typeof pingFrameSchema>;
export type ChatSendFrame = z.infer<typeof chatSendFrameSchema>;
export type ChatResumeFrame = z.infer<typeof chatResumeFrameSchema>;
export type ChatCancelFrame = z.infer<typeof chatCancelFrameSchema>;
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
]);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

export const limitsSchema = z.looseObject({
  maxFrameBytes: z.number(),
  requestsPerMinute: z.optional(z.number()),
  concurrentGenerations: z.optional(z.number()),
  maxUploadBytes: z.optional(z.number()),
});

export const welcomeFrameSchema = z.object({
  type: z.literal('welcome'),
  user: z.string(),
  server: z.string(),
  heartbeatMs: z.number(),
  limits: limitsSchema,
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

export const chatDeltaFrameSchema = z.object({
  type: z.literal('chat.delta'),
  id: z.string(),
  seq: z.number(),
  text: z.optional(z.string()),
  reasoning: z.optional(z.string()),
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
