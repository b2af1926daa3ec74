// The data of a chat job as it crosses Redis, validated again by the worker: the queue is a boundary too.
import { chatMessageSchema, chatOptionsSchema, requestIdSchema } from '@chrome-plus/protocol';
import { z } from 'zod';

export const chatJobSchema = z.object({
  key: z.string().min(1).max(64),
  user: z.string().min(1).max(64),
  id: requestIdSchema,
  model: z.string().min(1).max(200),
  messages: z.array(chatMessageSchema).min(1),
  options: chatOptionsSchema.optional(),
  /** Search the web for `query` before calling the model (the send's `webSearch`). */
  search: z.object({ query: z.string().min(1).max(500) }).optional(),
});

export type ChatJob = z.infer<typeof chatJobSchema>;
