// What one request may attach, counted over all its messages: a conversation sends its earlier messages (and their
// attachments) again with every new one, so the bounds are per request, not per message. The gateway checks them
// before anything is enqueued; the worker checks them again, since the queue is a boundary too.
import type { ChatMessage, ErrorCode } from '@chrome-plus/protocol';
import type { FileStore, StoredFile } from './file-store.ts';

export interface AttachmentLimits {
  /** Attachment references in one request, repeats included. */
  refs: number;
  /** Distinct files among them. */
  files: number;
  /** Bytes of images one request may pass to a model. */
  imageBytes: number;
}

export interface Refusal {
  code: ErrorCode;
  message: string;
}

/** The distinct files a request's messages attach, in the order they first appear; or why it may not. */
export function attachedFiles(
  messages: readonly ChatMessage[],
  limits: AttachmentLimits,
): { fileIds: string[] } | Refusal {
  let refs = 0;
  const fileIds = new Set<string>();
  for (const message of messages) {
    for (const attachment of message.attachments ?? []) {
      refs++;
      fileIds.add(attachment.fileId);
    }
  }
  if (refs > limits.refs) {
    return {
      code: 'too_large',
      message: `a request may name at most ${limits.refs} attachments over all its messages (this one names ${refs}): start a new conversation`,
    };
  }
  if (fileIds.size > limits.files) {
    return {
      code: 'too_large',
      message: `a request may attach at most ${limits.files} different files (this one has ${fileIds.size}): start a new conversation`,
    };
  }
  return { fileIds: [...fileIds] };
}

/** Looks every file up at once: each must exist and be the user's, and their images must fit the budget. */
export async function checkFiles(
  store: FileStore,
  user: string,
  fileIds: readonly string[],
  limits: AttachmentLimits,
): Promise<{ files: StoredFile[] } | Refusal> {
  // Sent together: one round trip's worth of waiting, however many files (at most limits.files).
  const files = await Promise.all(fileIds.map((fileId) => store.get(fileId, user)));
  const missing = fileIds.find((_, index) => files[index] === undefined);
  if (missing !== undefined) {
    return { code: 'not_found', message: `no file "${missing}" (unknown, expired, or not yours)` };
  }
  const found = files as StoredFile[];
  const imageBytes = found.reduce((sum, file) => sum + (file.kind === 'image' ? file.bytes : 0), 0);
  if (imageBytes > limits.imageBytes) {
    return {
      code: 'too_large',
      message: `the images of this request add up to ${imageBytes} bytes; at most ${limits.imageBytes} may go to the model at once`,
    };
  }
  return { files: found };
}
