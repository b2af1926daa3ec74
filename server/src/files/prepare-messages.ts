// Turns a chat job's messages and their attachments into what the model takes: extracted text under a heading,
// cut to a budget with a visible note, and images as image parts for models that accept them. A file named
// several times is read once and put in the prompt once; the request's files share one character budget.
import type { ChatJob } from '../jobs.ts';
import { type ProviderContentPart, ProviderError, type ProviderMessage } from '../providers/types.ts';
import { type AttachmentLimits, attachedFiles, checkFiles } from './attachment-policy.ts';
import { type ExtractLimits, extractText } from './extract.ts';
import type { FileStore, StoredFile } from './file-store.ts';
import type { FileKind } from './file-types.ts';

export interface PrepareOptions {
  store: FileStore;
  limits: ExtractLimits;
  /** Characters of text kept per file. */
  maxCharsPerFile: number;
  /** Characters of attached text one request may put in the prompt, all its files together. */
  maxCharsPerRequest: number;
  attachments: AttachmentLimits;
}

export function cutToBudget(text: string, name: string, budget: number): string {
  if (text.length <= budget) return text;
  return `${text.slice(0, budget)}\n\n[Chrome Plus: the text of "${name}" was cut to ${budget} of its ${text.length} characters.]`;
}

function refused(code: 'bad_request' | 'not_found' | 'too_large', message: string): ProviderError {
  return new ProviderError(code, message, { retryable: false });
}

export function createMessagePreparer(options: PrepareOptions) {
  return async (job: ChatJob, vision: boolean, signal: AbortSignal): Promise<ProviderMessage[]> => {
    const attached = attachedFiles(job.messages, options.attachments);
    if ('code' in attached) throw refused('too_large', attached.message);
    if (attached.fileIds.length === 0) {
      return job.messages.map((message) => ({ role: message.role, content: message.content }));
    }
    const checked = await checkFiles(options.store, job.user, attached.fileIds, options.attachments);
    if ('code' in checked) throw refused(checked.code as 'not_found' | 'too_large', checked.message);
    const files = new Map(checked.files.map((file) => [file.fileId, file]));
    if (!vision) {
      const image = checked.files.find((file) => file.kind === 'image');
      if (image !== undefined) {
        throw refused(
          'bad_request',
          `model "${job.model}" does not accept images ("${image.name}"): choose a model that does`,
        );
      }
    }

    let charsLeft = options.maxCharsPerRequest;
    const included = new Set<string>();

    /** A file's bytes; its record was found, but the data may have expired since. */
    async function bytesOf(file: StoredFile): Promise<Buffer> {
      const data = await options.store.read(file.fileId);
      if (data === null)
        throw refused('not_found', `attachment ${file.fileId} does not exist (or has expired)`);
      return data;
    }

    /** A file's text block, from the cache or extracted now (one at a time: each may hold a whole file in memory). */
    async function textOf(file: StoredFile, kind: Exclude<FileKind, 'image'>): Promise<string> {
      const cached = await options.store.cachedText(file.fileId);
      if (cached !== null) return cached;
      const data = await bytesOf(file);
      let text: string;
      try {
        text = await extractText({ kind, data: new Uint8Array(data) }, options.limits, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        throw refused('bad_request', `could not read "${file.name}": ${reason}`);
      }
      const block = `### Attached file: ${file.name}\n\n${cutToBudget(text.trim(), file.name, options.maxCharsPerFile)}`;
      await options.store.cacheText(file.fileId, block);
      return block;
    }

    /** One attachment as the model takes it this time: its text, a pointer to where it stands already, or an image. */
    async function partOf(file: StoredFile): Promise<string | ProviderContentPart> {
      if (included.has(file.fileId)) {
        return `[Chrome Plus: "${file.name}" is attached again; its content is given above.]`;
      }
      included.add(file.fileId);
      const { kind } = file;
      if (kind === 'image') {
        const data = await bytesOf(file);
        return {
          type: 'image_url',
          image_url: { url: `data:${file.mime};base64,${data.toString('base64')}` },
        };
      }
      if (charsLeft <= 0) {
        return `[Chrome Plus: "${file.name}" was left out: this request's attachments passed ${options.maxCharsPerRequest} characters.]`;
      }
      const block = cutToBudget(await textOf(file, kind), file.name, charsLeft);
      charsLeft -= block.length;
      return block;
    }

    const messages: ProviderMessage[] = [];
    for (const message of job.messages) {
      const attachments = message.attachments ?? [];
      if (attachments.length === 0 || message.role !== 'user') {
        messages.push({ role: message.role, content: message.content });
        continue;
      }
      const parts: (string | ProviderContentPart)[] = [];
      for (const attachment of attachments) parts.push(await partOf(files.get(attachment.fileId)!));
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
