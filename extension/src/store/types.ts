// What the extension keeps in the browser: conversations, their messages, and answers still streaming.

import type { AnswerError, AnswerStatus } from '@chrome-plus/client';
import type {
  ChatMessage,
  Usage,
  WebSearchOutcome,
  MessageContext as WireContext,
} from '@chrome-plus/protocol';

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  /** Set while a delete can still be undone; such a conversation is hidden, then purged. */
  deletedAt?: number;
  /** Server history: the seq of the server's last change of it that this copy holds (absent: never synced). */
  serverSeq?: number;
}

/** The current tab's main text, as it was when the message was sent. */
export interface PageContext {
  kind: 'page';
  title: string;
  url: string;
  /** What the model sees: the page's text, cut to the budget. */
  text: string;
  /** Characters of the whole extracted text; more than `text.length` when it was cut. */
  totalCharacters: number;
}

/** Text the user selected on a page (the context menu's path). */
export interface SelectionContext {
  kind: 'selection';
  text: string;
  title: string;
  url: string;
}

export type MessageContext = PageContext | SelectionContext;

/** A file uploaded to the server: the message keeps what describes it, never its bytes. */
export interface AttachmentInfo {
  fileId: string;
  name: string;
  /** Bytes. */
  size: number;
  /** MIME type as the server detected it. */
  type: string;
}

interface MessageBase {
  id: string;
  conversationId: string;
  content: string;
  createdAt: number;
}

export interface UserMessage extends MessageBase {
  role: 'user';
  context?: MessageContext;
  attachments?: AttachmentInfo[];
  /** The chat.send that carried it last (the server's history names messages by it). */
  requestId?: string;
  /** `pending`: the server keeps a history for this user and has not recorded this message yet. */
  syncState?: 'pending';
  /** Model compare: the id of the compared answer picked to continue with (the others are out of the conversation). */
  pickedAnswer?: string;
}

/** What a chat.send carried, kept while its answer streams so that a send lost before acceptance can be repeated. */
export interface SentRequest {
  messages: ChatMessage[];
  model?: string;
  /** For the server's history: the conversation, its title, the page the message was about. */
  conversationId?: string;
  title?: string;
  context?: WireContext;
  /** Search the web for this message (the panel's toggle), and what for. */
  webSearch?: boolean;
  searchQuery?: string;
}

export interface AssistantMessage extends MessageBase {
  role: 'assistant';
  /** The chat.send id of the request that produces this answer. */
  requestId: string;
  status: AnswerStatus;
  reasoning: string;
  /** The seq of the last event folded into `content`; a resume starts after it. */
  lastSeq: number;
  /** What was sent, kept while streaming so that a send lost before acceptance can be repeated. */
  request?: SentRequest;
  /** Started on another device: this one follows it from the server (a resume from seq 0). */
  remote?: boolean;
  model?: string;
  finishReason?: string;
  usage?: Usage;
  error?: AnswerError;
  /** The sources its web search found (numbered as the answer cites them), or why the search failed. */
  webSearch?: WebSearchOutcome;
  /** Model compare: one of the answers to the same question from several models (see sidepanel/compare-turns.ts). */
  compare?: { group: string; model: string };
  /** Measured in the panel (epoch ms): sent, first text, end. Kept for compared answers. */
  timing?: AnswerTiming;
}

export interface AnswerTiming {
  sentAt: number;
  firstTextAt?: number;
  endedAt?: number;
}

export type StoredMessage = UserMessage | AssistantMessage;

/**
 * A piece of a streaming answer, written as it arrives so that the cost of a write follows the
 * delta, not the answer. `reset` marks a `chat.restart`: the pieces before it are void.
 */
export interface AnswerChunk {
  messageId: string;
  /** The seq of the first event this piece covers. */
  fromSeq: number;
  /** The seq of the last event this piece covers. */
  seq: number;
  text: string;
  reasoning: string;
  reset: boolean;
}
