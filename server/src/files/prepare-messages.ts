// Turns a chat job's messages and their attachments into what the model takes: extracted text under a heading,
// cut to a budget with a visible note, and images as image parts for models that accept them.
import type { ChatJob } from '../jobs.ts';
import { type ProviderContentPart, ProviderError, type ProviderMessage } from '../providers/types.ts';
import { type ExtractLimits, extractText } from './extract.ts';
import type { FileStore } from './file-store.ts';

export interface PrepareOptions {
  store: FileStore;
  limits: ExtractLimits;
  /** Characters of text kept per file. */
  maxCharsPerFile: number;
}

export function cutToBudget(text: string, name: string, budget: number): string {
  if (text.length <= budget) return text;
  return `${text.slice(0, budget)}\n\n[Chrome Plus: the text of "${name}" was cut to ${budget} of its ${text.length} characters.]`;
}

export function createMessagePreparer(options: PrepareOptions) {
  return async (job: ChatJob, vision: boolean, signal: AbortSignal): Promise<ProviderMessage[]> => {
    /** One attachment as the model takes it: a text block, or an image part. */
    async function readAttachment(fileId: string): Promise<string | ProviderContentPart> {
      const file = await options.store.get(fileId, job.user);
      if (file !== undefined && file.kind !== 'image') {
        const cached = await options.store.cachedText(fileId);
        if (cached !== null) return cached;
      }
      const data = file === undefined ? null : await options.store.read(file.fileId);
      if (file === undefined || data === null) {
        throw new ProviderError('not_found', `attachment ${fileId} does not exist (or has expired)`, {
          retryable: false,
        });
      }
      if (file.kind === 'image') {
        if (!vision) {
          throw new ProviderError(
            'bad_request',
            `model "${job.model}" does not accept images ("${file.name}"): choose a model that does`,
            {
              retryable: false,
            },
          );
        }
        return {
          type: 'image_url',
          image_url: { url: `data:${file.mime};base64,${data.toString('base64')}` },
        };
      }
      let text: string;
      try {
        text = await extractText({ kind: file.kind, data: new Uint8Array(data) }, options.limits, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        throw new ProviderError('bad_request', `could not read "${file.name}": ${reason}`, {
          retryable: false,
        });
      }
      const block = `### Attached file: ${file.name}\n\n${cutToBudget(text.trim(), file.name, options.maxCharsPerFile)}`;
      await options.store.cacheText(fileId, block);
      return block;
    }

    const messages: ProviderMessage[] = [];
    for (const message of job.messages) {
      const attachments = message.attachments ?? [];
      if (attachments.length === 0 || message.role !== 'user') {
        messages.push({ role: message.role, content: message.content });
        continue;
      }
      // Files are read in parallel, each in its own bounded thread; the order of their texts is kept.
      const parts = await Promise.all(attachments.map((attachment) => readAttachment(attachment.fileId)));
      const texts = parts.filter((part): part is string => typeof part === 'string');
      const images = parts.filter((part): part is ProviderContentPart => typeof part !== 'string');
      const content = [message.content, ...texts].filter((part) => part !== '').join('\n\n');
      messages.push({
        role: 'user',
        content: images.length === 0 ? content : [{ type: 'text', text: content }, ...images],
      });
    }
    return messages;
  };
}
