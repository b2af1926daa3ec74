// Every frame of the wire contract v1 (shared/PROTOCOL.md) as a zod schema; types derive from these.
import { z } from 'zod';

/** A client-chosen request id: a UUID in practice; any short token of safe characters is accepted. */
export const requestIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'id must be 1-128 characters of A-Z a-z 0-9 . _ : -');

export const roleSchema = z.enum(['system', 'user', 'assistant']);
export type Role = z.infer<typeof roleSchema>;

export const attachmentRefSchema = z.object({ fileId: z.string().min(1).max(128) }).passthrough();
export type AttachmentRef = z.infer<typeof attachmentRefSchema>;

export const chatMessageSchema = z
  .object({
    role: roleSchema,
    content: z.string(),
    attachments: z.array(attachmentRefSchema).max(16).optional(),
  })
  .passthrough();
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const chatOptionsSchema = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().positive().max(1_000_000).optional(),
  })
  .passthrough();
export type ChatOptions = z.infer<typeof chatOptionsSchema>;

// ---- client → gateway ----

export const helloFrameSchema = z.object({
  type: z.literal('hello'),
  token: z.string().max(4096).optional(),
  client: z.string().max(200).optional(),
});

export const pingFrameSchema = z.object({ type: z.literal('ping'), t: z.unknown().optional() });

export const modelsListFrameSchema = z.object({ type: z.literal('models.list') });

export const chatSendFrameSchema = z.object({
  type: z.literal('chat.send'),
  id: requestIdSchema,
  messages: z.array(chatMessageSchema).min(1).max(1000),
  model: z.string().min(1).max(200).optional(),
  options: chatOptionsSchema.optional(),
});

export const chatResumeFrameSchema = z.object({
  type: z.literal('chat.resume'),
  id: requestIdSchema,
  after: z.number().int().min(0),
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
export const clientFrameTypes = clientFrameSchema.options.map((option) => option.shape.type.value);

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
]);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

export const limitsSchema = z
  .object({
    maxFrameBytes: z.number(),
    requestsPerMinute: z.number().optional(),
    concurrentGenerations: z.number().optional(),
    maxUploadBytes: z.number().optional(),
  })
  .passthrough();

export const welcomeFrameSchema = z.object({
  type: z.literal('welcome'),
  user: z.string(),
  server: z.string(),
  heartbeatMs: z.number(),
  limits: limitsSchema,
});

export const pongFrameSchema = z.object({ type: z.literal('pong'), t: z.unknown().optional() });

export const modelInfoSchema = z
  .object({
    id: z.string(),
    provider: z.string(),
    reasoning: z.boolean().optional(),
    vision: z.boolean().optional(),
  })
  .passthrough();
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
  queued: z.number().optional(),
});

export const chatDeltaFrameSchema = z.object({
  type: z.literal('chat.delta'),
  id: z.string(),
  seq: z.number(),
  text: z.string().optional(),
  reasoning: z.string().optional(),
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
  usage: usageSchema.optional(),
});

export const chatErrorFrameSchema = z.object({
  type: z.literal('chat.error'),
  id: z.string(),
  seq: z.number().optional(),
  code: errorCodeSchema,
  message: z.string(),
  retryable: z.boolean(),
  retryAfterMs: z.number().optional(),
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
  retryAfterMs: z.number().optional(),
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
