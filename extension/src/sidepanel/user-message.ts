// The DOM of a user's message: its page or selection, the files it carried, its text.
import type { AttachmentInfo, UserMessage } from '../store/types.ts';
import { contextCard } from './context-card.ts';
import { formatBytes } from './export-markdown.ts';
import { icon } from './icons.ts';
import { syncPendingLabel } from './sync-label.ts';

/** The files a message carried, as shown in the conversation (name, size; the bytes stay on the server). */
function attachmentList(attachments: readonly AttachmentInfo[]): HTMLElement {
  const list = document.createElement('div');
  list.className = 'message-attachments';
  for (const attachment of attachments) {
    const item = document.createElement('span');
    item.className = 'message-attachment';
    item.dataset.testid = 'message-attachment';
    item.title = attachment.name;
    const name = document.createElement('span');
    name.className = 'chip-name';
    name.textContent = attachment.name;
    const size = document.createElement('span');
    size.className = 'chip-status';
    size.textContent = formatBytes(attachment.size);
    item.append(icon(attachment.type.startsWith('image/') ? 'image' : 'file'), name, size);
    list.append(item);
  }
  return list;
}

export function createUserMessage(message: UserMessage): HTMLElement {
  const element = document.createElement('div');
  element.className = 'message-user';
  element.dataset.testid = 'message-user';
  element.dataset.messageId = message.id;
  if (message.context) element.append(contextCard(message.context));
  if (message.attachments?.length) element.append(attachmentList(message.attachments));
  if (message.content) {
    const text = document.createElement('div');
    text.className = 'message-text';
    text.textContent = message.content;
    element.append(text);
  }
  if (message.syncState === 'pending') element.append(syncPendingLabel());
  return element;
}
