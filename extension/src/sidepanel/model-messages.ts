// What the model sees of a conversation: the system prompt, then each message with its page, selection and files.
import type { ChatMessage } from '@chrome-plus/protocol';
import type { MessageContext, StoredMessage, UserMessage } from '../store/types.ts';

/** The page's or selection's text under a heading, so the model can tell the context from the request. */
export function contextText(context: MessageContext): string {
  if (context.kind === 'selection') {
    return `### Selected text from: ${context.title || context.url}\nURL: ${context.url}\n\n${context.text}`;
  }
  const cut =
    context.totalCharacters > context.text.length
      ? `\n\n[Chrome Plus: the page text was cut to ${context.text.length} of its ${context.totalCharacters} characters.]`
      : '';
  return `### Page: ${context.title || context.url}\nURL: ${context.url}\n\n${context.text}${cut}`;
}

export function userContent(message: UserMessage): string {
  if (!message.context) return message.content;
  return `${message.content}\n\n${contextText(message.context)}`;
}

/**
 * The request's messages: the system prompt, the user's messages with their context and attachments,
 * and the answers that have something to say.
 */
export function historyFor(messages: readonly StoredMessage[], systemPrompt = ''): ChatMessage[] {
  const history: ChatMessage[] = [];
  if (systemPrompt.trim()) history.push({ role: 'system', content: systemPrompt.trim() });
  for (const message of messages) {
    if (message.role === 'user') {
      const entry: ChatMessage = { role: 'user', content: userContent(message) };
      if (message.attachments?.length) {
        entry.attachments = message.attachments.map((attachment) => ({ fileId: attachment.fileId }));
      }
      history.push(entry);
    } else if (message.status !== 'streaming' && message.content.length > 0) {
      history.push({ role: 'assistant', content: message.content });
    }
  }
  return history;
}

export function titleFor(text: string): string {
  const firstLine = text.trim().split('\n')[0] ?? '';
  return firstLine.length > 60 ? `${firstLine.slice(0, 59)}…` : firstLine;
}

/** A new conversation's title: the user's words, else the page or file it is about. */
export function titleForMessage(message: Pick<UserMessage, 'content' | 'context' | 'attachments'>): string {
  const about = message.context?.title || message.attachments?.[0]?.name;
  const words = titleFor(message.content);
  if (!about) return words;
  return titleFor(words ? `${words} · ${about}` : about);
}
