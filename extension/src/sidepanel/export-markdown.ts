// A conversation as a Markdown file: its title, each message under who said it, pages and files named.
import type { Conversation, StoredMessage } from '../store/types.ts';
import { shownMessages } from './compare-turns.ts';

export interface ExportLabels {
  you: string;
  assistant: string;
  page: string;
  selection: string;
  attachments: string;
  exported: string;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function quote(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `> ${line}` : '>'))
    .join('\n');
}

export function conversationMarkdown(
  conversation: Conversation,
  messages: readonly StoredMessage[],
  labels: ExportLabels,
  exportedAt = new Date(),
): string {
  const parts = [`# ${conversation.title}`, `_${labels.exported} ${exportedAt.toISOString().slice(0, 10)}_`];
  // A compared question's dropped answers are not part of the conversation (compare-turns.ts).
  for (const message of shownMessages(messages)) {
    if (message.role === 'user') {
      parts.push(`## ${labels.you}`);
      const context = message.context;
      if (context?.kind === 'page') parts.push(`${labels.page}: [${context.title}](${context.url})`);
      if (context?.kind === 'selection') {
        parts.push(
          `${labels.selection}: [${context.title || context.url}](${context.url})`,
          quote(context.text),
        );
      }
      if (message.attachments?.length) {
        const names = message.attachments.map((file) => `${file.name} (${formatBytes(file.size)})`);
        parts.push(`${labels.attachments}: ${names.join(', ')}`);
      }
      parts.push(message.content);
    } else {
      if (!message.content) continue;
      parts.push(`## ${labels.assistant}${message.model ? ` · ${message.model}` : ''}`, message.content);
    }
  }
  return `${parts.join('\n\n').trim()}\n`;
}

/** A file name from a title: no path separators or characters file systems refuse. */
export function exportFileName(title: string): string {
  const base = [...title]
    .map((character) => (character.charCodeAt(0) < 32 || '\\/:*?"<>|'.includes(character) ? ' ' : character))
    .join('')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 80);
  return `${base || 'conversation'}.md`;
}

/** Starts the download of a text file from the page (no downloads permission needed). */
export function downloadText(fileName: string, text: string, type = 'text/markdown'): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
